// A C face for the reference SentencePiece library, so that Swift can call it without C++
// interop. Every function that can fail returns non-zero and writes a message into `error`.
#ifndef PAIRGEN_SENTENCEPIECE_SHIM_H
#define PAIRGEN_SENTENCEPIECE_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct PGSentencePiece PGSentencePiece;

/// Loads a `.model` file; returns NULL and fills `error` on failure.
PGSentencePiece *pg_spm_load(const char *path, char *error, size_t error_capacity);

/// Releases a processor made by pg_spm_load.
void pg_spm_free(PGSentencePiece *processor);

/// Number of pieces in the model's vocabulary.
int32_t pg_spm_piece_count(const PGSentencePiece *processor);

/// Encodes UTF-8 text into ids. `*ids` is malloc'd and must be freed with pg_spm_free_ids.
int pg_spm_encode(const PGSentencePiece *processor, const char *text, size_t length,
                  int32_t **ids, size_t *count, char *error, size_t error_capacity);

/// Frees an id array returned by pg_spm_encode.
void pg_spm_free_ids(int32_t *ids);

/// Decodes ids (all must be < piece count) into malloc'd UTF-8; free with pg_spm_free_text.
int pg_spm_decode(const PGSentencePiece *processor, const int32_t *ids, size_t count,
                  char **text, size_t *length, char *error, size_t error_capacity);

/// Frees text returned by pg_spm_decode.
void pg_spm_free_text(char *text);

/// The id of a piece, or -1 when the model lacks it.
int32_t pg_spm_piece_to_id(const PGSentencePiece *processor, const char *piece);

/// Whether the id is a control, unknown or unused piece (skipped when decoding specials).
int pg_spm_is_control(const PGSentencePiece *processor, int32_t id);

#ifdef __cplusplus
}
#endif

#endif
