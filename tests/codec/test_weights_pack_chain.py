"""Chains of packs: weights quantised from shipped weights that are themselves packed (a fine-tune of
a fine-tune ships as its difference from its parent).  Quantising against a packed base unpacks it
through its own base; loading unpacks a chain base first, byte for byte (each file's SHA-256 is the
one its name carries); a loop of packs, a chain over the limit, a base that is not shipped or is
missing from the install are each a one-line PackedWeightsBaseError.  Tiny made-up weights only."""

from __future__ import annotations

import enum
import shutil
from pathlib import Path

import pytest

from rnncodec import weights as weights_module
from rnncodec.errors import PackedWeightsBaseError, UnknownWeightsError
from rnncodec.weights import (PACK_SUFFIX, Weights, load_weights, read_weights_file, save_weights, sha256_file,
                              unpacked_path)
from rnncodec.atomic import write_atomically
from rnncodec.weights_pack import cache_dir, main, pack, read_pack_header, unpack
from rnncodec.weights_quantise import quantise

STEP = 0.01


def _named(path: Path) -> Path:
    """``path`` renamed ``tiny-<first 8 hex digits of its SHA-256>.pt``, as shipped files are named."""
    return path.rename(path.with_name(f"tiny-{sha256_file(path)[:8]}.pt"))


def _nudged(source: Path, out: Path, scale: float, seed: int) -> Path:
    """``source``'s weights plus small noise: what training on from them gives."""
    import torch

    from rnncodec.model import RecurrentCodec

    config, state, meta = read_weights_file(source)
    generator = torch.Generator().manual_seed(seed)
    model = RecurrentCodec(config)
    model.load_state_dict({key: value + scale * torch.randn(value.shape, generator=generator)
                           for key, value in state.items()})
    return save_weights(model, out, meta=meta)


def _registry(files: dict[str, Path]) -> type[enum.Enum]:
    """A stand-in for ``RNCWeights`` listing ``files`` (name → weights file)."""
    return enum.Enum("RNCWeights", {name: Weights(file=path.name, sha256=sha256_file(path), architecture="tiny")
                                    for name, path in files.items()})


def _install(folder: Path, files: dict[str, Path], packs: dict[str, Path], monkeypatch) -> type[enum.Enum]:
    """An installed weights folder holding ``files`` as they are and ``packs`` (name → base) as
    their packs only; the registry of them all, the cache under ``folder``."""
    folder.mkdir()
    for name, path in files.items():
        if name in packs:
            write_atomically((folder / path.name).with_suffix(PACK_SUFFIX),
                             pack(path.read_bytes(), files[packs[name]].read_bytes(), step=STEP, level=3))
        else:
            shutil.copyfile(path, folder / path.name)
    registry = _registry(files)
    monkeypatch.setattr(weights_module, "shipped_dir", lambda: folder)
    monkeypatch.setattr(weights_module, "RNCWeights", registry)
    monkeypatch.setenv("RNC_CACHE_DIR", str(folder.with_name(folder.name + "-cache")))
    return registry


@pytest.fixture(scope="module")
def chain(weights_file, other_weights_file, tmp_path_factory):
    """ROOT; CHILD quantised from ROOT; TRAINED, CHILD trained on a little; GRANDCHILD, TRAINED
    quantised from CHILD given as its pack only (``CHILD_PACK``; no CHILD .pt beside it)."""
    made = tmp_path_factory.mktemp("chain")
    root = _named(Path(shutil.copyfile(weights_file, made / "root.pt")))
    child = _named(quantise(other_weights_file, root, made / "child.pt", step=STEP))
    trained = _nudged(child, made / "trained.pt", scale=0.02, seed=3)
    packed = made / "packed"
    packed.mkdir()
    child_pack = packed / child.with_suffix(PACK_SUFFIX).name
    child_pack.write_bytes(pack(child.read_bytes(), root.read_bytes(), step=STEP, level=3))
    return {"ROOT": root, "CHILD": child, "TRAINED": trained, "CHILD_PACK": child_pack}


@pytest.fixture
def install(chain, tmp_path, monkeypatch):
    """ROOT's .pt, CHILD's pack and GRANDCHILD's pack (against CHILD) installed and registered."""
    with monkeypatch.context() as patch:  # GRANDCHILD made from CHILD's pack through this registry
        _install(tmp_path / "for-quantise", {"ROOT": chain["ROOT"]}, {}, patch)
        grandchild = _named(quantise(chain["TRAINED"], chain["CHILD_PACK"], tmp_path / "grandchild.pt", step=STEP))
    files = {"ROOT": chain["ROOT"], "CHILD": chain["CHILD"], "GRANDCHILD": grandchild}
    registry = _install(tmp_path / "installed", files, {"CHILD": "ROOT", "GRANDCHILD": "CHILD"}, monkeypatch)
    return tmp_path / "installed", registry, files


def test_quantising_against_a_packed_base_records_the_parent(install):
    """GRANDCHILD, quantised against CHILD's pack, names CHILD as its base and packs against it as
    integers only — in less than half the bytes of its pack against ROOT."""
    _, _, files = install
    grandchild, child = files["GRANDCHILD"].read_bytes(), files["CHILD"].read_bytes()
    assert read_weights_file(files["GRANDCHILD"])[2]["quantised"]["base_sha256"] == sha256_file(files["CHILD"])
    against_parent = files["GRANDCHILD"].with_name("against-parent.ptpack")
    against_parent.write_bytes(pack(grandchild, child, step=STEP, level=3))
    header = read_pack_header(against_parent)
    assert header["base_sha256"] == sha256_file(files["CHILD"])
    assert all(step is not None for _, offset, step in header["segments"] if offset >= 0)
    against_root = pack(grandchild, files["ROOT"].read_bytes(), step=STEP, level=3)
    assert against_parent.stat().st_size < len(against_root) / 2
    assert unpack(against_parent.read_bytes(), child) == grandchild


def test_quantising_is_reproducible_whatever_names_the_packed_base(install, chain, tmp_path):
    """The registry member, its pack, the absent .pt beside its pack, that path as text, each
    written under another name: the same bytes every time, the ones GRANDCHILD's name carries."""
    folder, registry, files = install
    bases = (registry.CHILD, folder / files["CHILD"].with_suffix(PACK_SUFFIX).name, folder / files["CHILD"].name,
             str(folder / files["CHILD"].name))
    outs = [quantise(chain["TRAINED"], base, tmp_path / f"q{i}.pt", step=STEP) for i, base in enumerate(bases)]
    assert {sha256_file(out) for out in outs} == {sha256_file(files["GRANDCHILD"])}


def test_a_chain_unpacks_base_first_byte_for_byte(install):
    folder, registry, files = install
    assert not any(cache_dir().glob("*.pt"))
    path = registry.GRANDCHILD.value.path
    assert path.parent == cache_dir() and not (folder / path.name).exists()
    assert path.read_bytes() == files["GRANDCHILD"].read_bytes()
    assert sha256_file(path) == registry.GRANDCHILD.value.sha256 and path.name == f"tiny-{sha256_file(path)[:8]}.pt"
    child = cache_dir() / registry.CHILD.value.file  # unpacked on the way, checked the same way
    assert child.read_bytes() == files["CHILD"].read_bytes() and sha256_file(child) == registry.CHILD.value.sha256
    loaded = load_weights(registry.GRANDCHILD)
    assert loaded.sha256 == registry.GRANDCHILD.value.sha256 and loaded.name == "GRANDCHILD"
    assert unpacked_path(folder / files["GRANDCHILD"].with_suffix(PACK_SUFFIX).name) == path
    assert load_weights(folder / files["GRANDCHILD"].name).sha256 == registry.GRANDCHILD.value.sha256


def test_the_pack_command_takes_a_packed_base(install, tmp_path, capsys):
    folder, _, files = install
    (tmp_path / "copy").mkdir()
    target = Path(shutil.copyfile(files["GRANDCHILD"], tmp_path / "copy" / files["GRANDCHILD"].name))
    assert main([str(target), "--base", str(folder / files["CHILD"].name), "--step", str(STEP)]) == 0
    assert f"against {files['CHILD'].name}" in capsys.readouterr().out
    assert read_pack_header(target.with_suffix(PACK_SUFFIX))["base_sha256"] == sha256_file(files["CHILD"])
    assert main([str(target), "--base", str(tmp_path / "nowhere.pt")]) == 1
    assert "error: --base: weights file not found" in capsys.readouterr().err


def test_a_base_missing_from_the_install_or_not_shipped_is_named(install, monkeypatch):
    folder, registry, files = install
    (folder / files["ROOT"].name).unlink()
    with pytest.raises(PackedWeightsBaseError,
                       match=rf"^{files['CHILD'].stem}\.ptpack: its base weights {files['ROOT'].name} are missing"):
        registry.GRANDCHILD.value.path
    monkeypatch.setattr(weights_module, "RNCWeights", _registry({"GRANDCHILD": files["GRANDCHILD"]}))
    with pytest.raises(PackedWeightsBaseError, match=r"its base weights \([0-9a-f]{16}…\) are not shipped"):
        weights_module.RNCWeights.GRANDCHILD.value.path
    with pytest.raises(UnknownWeightsError, match="not shipped"):  # the class callers already catch
        load_weights(weights_module.RNCWeights.GRANDCHILD)


def test_a_chain_over_the_limit_is_refused(install, monkeypatch):
    _, registry, _ = install
    monkeypatch.setattr(weights_module, "MAX_PACK_CHAIN", 1)
    assert sha256_file(registry.CHILD.value.path) == registry.CHILD.value.sha256  # one pack: within
    with pytest.raises(PackedWeightsBaseError, match="its chain of packs is longer than 1 "):
        registry.GRANDCHILD.value.path


def test_a_loop_of_packs_is_refused_not_followed(weights_file, other_weights_file, tmp_path, monkeypatch):
    """A packed against B and B against A (or a pack against itself): an error showing the loop,
    not a recursion."""
    made = tmp_path / "made"
    made.mkdir()
    a, b = (_named(Path(shutil.copyfile(source, made / f"{key}.pt")))
            for key, source in (("a", weights_file), ("b", other_weights_file)))
    registry = _install(tmp_path / "installed", {"A": a, "B": b}, {"A": "B", "B": "A"}, monkeypatch)
    loop = rf"{a.stem[5:]} → {b.stem[5:]} → {a.stem[5:]}"
    with pytest.raises(PackedWeightsBaseError, match=rf"^{b.stem}\.ptpack: a loop of packs.*\({loop}\)"):
        registry.A.value.path
    (tmp_path / "installed" / b.with_suffix(PACK_SUFFIX).name).write_bytes(pack(b.read_bytes(), b.read_bytes()))
    with pytest.raises(PackedWeightsBaseError, match=rf"a loop of packs.*\({b.stem[5:]} → {b.stem[5:]}\)"):
        registry.B.value.path
