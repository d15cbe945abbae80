"""Converting a GGUF language model reads the file once: transformers' three readings share one
parse, and nothing of that outlives the conversion."""

import gguf
import numpy as np

from film_pipeline.backends.text import _gguf_read_once


def tiny_gguf(path):
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_token_list(["<s>", "a", "b"])
    writer.add_tensor("token_embd.weight", np.ones((3, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_a_conversion_parses_the_file_once_and_builds_the_name_map_once(tmp_path):
    path = tiny_gguf(tmp_path / "tiny.gguf")
    reader_class, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    with _gguf_read_once():
        first, second = gguf.GGUFReader(path), gguf.GGUFReader(str(path))
        assert first is second, "the tokenizer, the config and the weights read one parse"
        assert [t.name for t in first.tensors] == ["token_embd.weight"]
        arch = gguf.MODEL_ARCH.LLAMA
        assert gguf.get_tensor_name_map(arch, 2) is gguf.get_tensor_name_map(arch, 2)
    assert (gguf.GGUFReader, gguf.get_tensor_name_map) == (reader_class, name_map), "the library is as it was"
    assert gguf.GGUFReader(path) is not gguf.GGUFReader(path)


def test_the_library_is_restored_when_a_conversion_fails(tmp_path):
    reader_class = gguf.GGUFReader
    try:
        with _gguf_read_once():
            gguf.GGUFReader(tmp_path / "missing.gguf")
    except OSError:
        pass
    assert gguf.GGUFReader is reader_class
