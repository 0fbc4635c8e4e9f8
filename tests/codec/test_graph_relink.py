"""A packed entry's ONNX graphs made from its base's (``rnncodec.graph_relink``): byte for byte what
``python -m rnncodec.onnx_export`` writes for its own weights — on made-up weights and on every
shipped packed entry — and a graph that does not fit the weights is refused in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rnncodec.errors import UnknownWeightsError
from rnncodec.graph_relink import relink
from rnncodec.weights import PACK_SUFFIX, RNCWeights, onnx_paths, shipped_dir
from rnncodec.weights_pack import read_pack_header

REPOSITORY = Path(__file__).resolve().parents[2] / "weights"  # every graph, the packed entries' too
PACKED = [member for member in RNCWeights if (shipped_dir() / member.value.file).with_suffix(PACK_SUFFIX).is_file()
          and read_pack_header((shipped_dir() / member.value.file).with_suffix(PACK_SUFFIX))["base_sha256"]]
# (a pack alone — GRU_S_V4's, and the older entries rounded — ships its graphs)


def test_graphs_made_from_other_weights_are_the_exported_ones(onnx_weights_file, other_weights_file, tmp_path):
    from rnncodec.onnx_export import export_onnx

    target = Path(shutil.copyfile(other_weights_file, tmp_path / "tiny-other.pt"))
    exported = export_onnx(target)
    base, weights = onnx_weights_file.read_bytes(), target.read_bytes()
    for part, graph in onnx_paths(onnx_weights_file).items():
        assert relink(graph.read_bytes(), base, weights, target.name) == exported[part].read_bytes()


@pytest.mark.parametrize("member", PACKED, ids=[member.name for member in PACKED])
def test_a_packed_entrys_graphs_are_the_repositorys(member):
    """What an install makes for each entry packed against another (the wheel leaves their graphs
    out) is the file the repository keeps."""
    if not (REPOSITORY / member.value.file).is_file():
        pytest.skip("needs the repository's weights/ folder")
    header = read_pack_header((shipped_dir() / member.value.file).with_suffix(PACK_SUFFIX))
    base = next(m.value for m in RNCWeights if m.value.sha256 == header["base_sha256"])
    weights = (REPOSITORY / member.value.file).read_bytes()
    for part, graph in onnx_paths(REPOSITORY / base.file).items():
        made = relink(graph.read_bytes(), (REPOSITORY / base.file).read_bytes(), weights, member.value.file)
        assert made == onnx_paths(REPOSITORY / member.value.file)[part].read_bytes(), part


def test_graphs_that_do_not_fit_the_weights_are_refused(onnx_weights_file):
    graph = onnx_paths(onnx_weights_file)["decoder"].read_bytes()
    base = onnx_weights_file.read_bytes()
    with pytest.raises(UnknownWeightsError, match="of another weights file"):  # storages not in this base
        relink(graph, RNCWeights.DEFAULT.value.path.read_bytes(), base, "x.pt")
    with pytest.raises(UnknownWeightsError, match="truncated ONNX graph"):
        relink(graph[:len(graph) // 2], base, base, "x.pt")
