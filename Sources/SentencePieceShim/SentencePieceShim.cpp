#include "SentencePieceShim.h"

#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

struct PGSentencePiece {
    sentencepiece::SentencePieceProcessor processor;
};

static void copy_error(const std::string &message, char *error, size_t capacity) {
    if (error == nullptr || capacity == 0) return;
    size_t n = message.size() < capacity - 1 ? message.size() : capacity - 1;
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
}

PGSentencePiece *pg_spm_load(const char *path, char *error, size_t error_capacity) {
    auto *result = new PGSentencePiece();
    const auto status = result->processor.Load(path);
    if (!status.ok()) {
        copy_error(status.ToString(), error, error_capacity);
        delete result;
        return nullptr;
    }
    return result;
}

void pg_spm_free(PGSentencePiece *processor) { delete processor; }

int32_t pg_spm_piece_count(const PGSentencePiece *processor) {
    return processor->processor.GetPieceSize();
}

int pg_spm_encode(const PGSentencePiece *processor, const char *text, size_t length,
                  int32_t **ids, size_t *count, char *error, size_t error_capacity) {
    std::vector<int> pieces;
    const auto status = processor->processor.Encode(std::string(text, length), &pieces);
    if (!status.ok()) {
        copy_error(status.ToString(), error, error_capacity);
        return 1;
    }
    auto *buffer = static_cast<int32_t *>(std::malloc(sizeof(int32_t) * (pieces.size() + 1)));
    for (size_t i = 0; i < pieces.size(); ++i) buffer[i] = pieces[i];
    *ids = buffer;
    *count = pieces.size();
    return 0;
}

void pg_spm_free_ids(int32_t *ids) { std::free(ids); }

int pg_spm_decode(const PGSentencePiece *processor, const int32_t *ids, size_t count,
                  char **text, size_t *length, char *error, size_t error_capacity) {
    std::vector<int> pieces(ids, ids + count);
    std::string decoded;
    const auto status = processor->processor.Decode(pieces, &decoded);
    if (!status.ok()) {
        copy_error(status.ToString(), error, error_capacity);
        return 1;
    }
    auto *buffer = static_cast<char *>(std::malloc(decoded.size() + 1));
    std::memcpy(buffer, decoded.data(), decoded.size());
    buffer[decoded.size()] = '\0';
    *text = buffer;
    *length = decoded.size();
    return 0;
}

void pg_spm_free_text(char *text) { std::free(text); }

int32_t pg_spm_piece_to_id(const PGSentencePiece *processor, const char *piece) {
    const int id = processor->processor.PieceToId(piece);
    if (id == processor->processor.unk_id() && std::strcmp(piece, "<unk>") != 0) return -1;
    return id;
}

int pg_spm_is_control(const PGSentencePiece *processor, int32_t id) {
    const auto &p = processor->processor;
    return p.IsControl(id) || p.IsUnknown(id) || p.IsUnused(id) ? 1 : 0;
}
