"""Makes the tiny checkpoints that Tests/MT5Tests/WeightsTests.swift reads.

Run from anywhere with the dev venv:  /work/venv/bin/python make_weight_fixtures.py
It rewrites the files beside it: safetensors files written by the safetensors library and by hand
(to get an unaligned F32 tensor and an I64 one), a two-shard safetensors checkpoint, torch.save
checkpoints (protocol 2 as torch writes by default, and protocol 4), a two-shard torch checkpoint,
a copy of a torch checkpoint with deflated entries, and expected.json: for every file, every
tensor's shape and its values as float32 (F16 and BF16 widened exactly).
"""

import json
import os
import shutil
import struct
import zipfile
import zlib
from collections import OrderedDict

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20261203)
expected = {}


def values(tensor):
    return [float(x) for x in tensor.detach().to(torch.float32).contiguous().flatten().tolist()]


def record(relative, tensors):
    expected[relative] = {
        name: {"shape": list(t.shape), "values": values(t)}
        for name, t in tensors.items()
        if t.dtype in (torch.float32, torch.float16, torch.bfloat16)
    }


def path(relative):
    full = os.path.join(HERE, relative)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    return full


def random(shape, dtype):
    return (torch.randn(shape) * 3).to(dtype)


# 1. safetensors from the library: the three float dtypes, a scalar and an empty tensor.
mixed = {
    "encoder.weight": random((3, 4), torch.float32),
    "decoder.half": random((2, 5), torch.float16),
    "decoder.bfloat": random((4, 2), torch.bfloat16),
    "scale": random((), torch.float32),
    "empty": torch.zeros(0, 3),
}
save_file(mixed, path("mixed.safetensors"), metadata={"format": "pt"})
record("mixed.safetensors", mixed)

# 2. safetensors by hand: F16 first (6 bytes), so the F32 tensor after it starts 2 bytes off a
# 4-byte boundary; plus an I64 tensor that the store must refuse by name.
half = random((3,), torch.float16)
unaligned = random((2, 2), torch.float32)
counts = torch.tensor([7, -1], dtype=torch.int64)
blobs = [("a.half", "F16", half), ("b.unaligned", "F32", unaligned), ("c.counts", "I64", counts)]
header, data = {"__metadata__": {"made_by": "make_weight_fixtures.py"}}, b""
for name, dtype, tensor in blobs:
    raw = tensor.contiguous().numpy().astype(tensor.numpy().dtype.newbyteorder("<")).tobytes()
    header[name] = {"dtype": dtype, "shape": list(tensor.shape),
                    "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
text = json.dumps(header).encode()
text += b" " * (-(8 + len(text)) % 8)
with open(path("unusual.safetensors"), "wb") as out:
    out.write(struct.pack("<Q", len(text)) + text + data)
record("unusual.safetensors", {"a.half": half, "b.unaligned": unaligned})

# 3. A two-shard safetensors checkpoint with its index, as save_pretrained writes one.
shards = {
    "model-00001-of-00002.safetensors": {"shared.weight": random((5, 3), torch.float32),
                                         "lm_head.weight": random((5, 3), torch.float16)},
    "model-00002-of-00002.safetensors": {"final_layer_norm.weight": random((3,), torch.float32)},
}
weight_map = {}
for shard, tensors in shards.items():
    save_file(tensors, path(f"sharded/{shard}"), metadata={"format": "pt"})
    weight_map.update({name: shard for name in tensors})
    record(f"sharded/{shard}", tensors)
with open(path("sharded/model.safetensors.index.json"), "w") as out:
    json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, out, indent=2)

# 4. torch.save of a state dict: F32, F16, BF16; a slice with a storage offset (torch saves the
# whole storage of `big`); two names sharing one tensor; a transposed (non-contiguous) view; a
# F16 slice; an int64 buffer the store must refuse by name.
big = random((4, 5), torch.float32)
shared = random((3, 2), torch.float32)
halves = random((6,), torch.float16)
square = random((2, 3), torch.float32)
state = OrderedDict()
state["encoder.weight"] = random((4, 3), torch.float32)
state["decoder.half"] = random((2, 3), torch.float16)
state["decoder.bfloat"] = random((3,), torch.bfloat16)
state["slice.weight"] = big[1:3]
state["shared.weight"] = shared
state["tied.weight"] = shared
state["transposed.weight"] = square.t()
state["half.slice"] = halves[2:]
state["position_ids"] = torch.arange(4)
state._metadata = OrderedDict({"": {"version": 1}})
torch.save(state, path("torch/pytorch_model.bin"))
record("torch/pytorch_model.bin", state)

# 5. The same tensors pickled with protocol 4 (SHORT_BINUNICODE, MEMOIZE, FRAME...).
torch.save(state, path("protocol4.bin"), pickle_protocol=4)
record("protocol4.bin", state)

# 6. A two-shard torch checkpoint with pytorch_model.bin.index.json.
torch_shards = {
    "pytorch_model-00001-of-00002.bin": OrderedDict(first=random((2, 2), torch.float32)),
    "pytorch_model-00002-of-00002.bin": OrderedDict(second=random((3,), torch.float16)),
}
torch_map = {}
for shard, tensors in torch_shards.items():
    torch.save(tensors, path(f"torch_sharded/{shard}"))
    torch_map.update({name: shard for name in tensors})
    record(f"torch_sharded/{shard}", tensors)
with open(path("torch_sharded/pytorch_model.bin.index.json"), "w") as out:
    json.dump({"metadata": {"total_size": 0}, "weight_map": torch_map}, out, indent=2)

# 7. The torch checkpoint of 4 with its entries deflated: the store must refuse it clearly.
with zipfile.ZipFile(path("torch/pytorch_model.bin")) as source, \
        zipfile.ZipFile(path("compressed.bin"), "w", zipfile.ZIP_DEFLATED) as target:
    for info in source.infolist():
        target.writestr(info.filename, source.read(info.filename))



# 8. The torch checkpoint of 4 repacked with every Zip64 structure that archives past 4 GiB
# need (saturated 32-bit sizes and offsets, Zip64 extra fields, Zip64 end record and locator),
# written by hand because zipfile only uses them when it must.
def write_zip64(entries, target):
    out, central = bytearray(), bytearray()
    for name, data in entries:
        offset, raw_name, crc = len(out), name.encode(), zlib.crc32(data)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(raw_name), len(extra))
        out += raw_name + extra + data
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(raw_name), len(extra), 0, 0, 0, 0,
                               0xFFFFFFFF)
        central += raw_name + extra
    directory_offset = len(out)
    out += central
    record_offset = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                       len(central), directory_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, record_offset, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF,
                       0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(target, "wb") as file:
        file.write(out)


with zipfile.ZipFile(path("torch/pytorch_model.bin")) as source:
    write_zip64([(i.filename, source.read(i.filename)) for i in source.infolist()],
                path("zip64.bin"))
with zipfile.ZipFile(path("zip64.bin")) as check:
    assert check.testzip() is None
record("zip64.bin", state)

# 9. Plain pickles of one value in protocols 0 (text opcodes), 2 and 4, for the pickle machine.
import pickle  # noqa: E402

value = OrderedDict(
    [("ints", [0, 1, -1, 255, 65535, -(2**31), 2**40, -(2**63)]), ("float", -2.5),
     ("flags", (True, False, None)), ("text", "naïve"), ("tuple", (1, (2, 3), ()))])
for protocol in (0, 2, 4):
    with open(path(f"value_protocol{protocol}.pkl"), "wb") as out:
        out.write(pickle.dumps(value, protocol=protocol))

with open(path("expected.json"), "w") as out:
    json.dump(expected, out, indent=1, sort_keys=True)
    out.write("\n")
