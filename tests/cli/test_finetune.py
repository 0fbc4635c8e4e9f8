"""rnc finetune classify / detect: the written file loads in rnc classify / detect, resume, bad input."""

from __future__ import annotations

import pytest
from PIL import Image

from rnncodec.cli.main import cli

pytestmark = pytest.mark.usefixtures("offline")


@pytest.fixture(scope="module")
def photos(tmp_path_factory, photo):
    """Three tiny photos in a folder, and the same as an image-folder tree of two ImageNet classes."""
    root = tmp_path_factory.mktemp("finetune")
    flat, tree = root / "photos", root / "tree"
    for folder in (flat, tree / "tench", tree / "goldfish"):
        folder.mkdir(parents=True)
    crops = {"a.png": photo[:40, :56], "b.png": photo[20:60, 30:86], "c.png": photo[32:, 44:]}
    for n, (name, pixels) in enumerate(crops.items()):
        Image.fromarray(pixels).save(flat / name)
        Image.fromarray(pixels).save(tree / ("tench" if n < 2 else "goldfish") / name)
    return root


def _one_error_line(result, message: str) -> None:
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], result.output


def _args(weights_file, out, *extra):
    return ["finetune", *extra, "-o", str(out), "--codec-weights", str(weights_file), "--steps", "1",
            "--batch-size", "2", "--size", "32", "--no-progress", "--cache", str(out.parent / "cache")]


@pytest.mark.slow
def test_label_free_classifier_loads_in_rnc_classify_and_resumes(runner, photos, weights_file, resnet50_weights,
                                                                  tmp_path):
    out = tmp_path / "adapted.pth"
    args = _args(weights_file, out, "classify", "--data", str(photos / "photos"), "--weights",
                 str(resnet50_weights), "-n", "1-2", "--val-fraction", "0.34", "--val-every", "1")
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "step 0: top-1 agreement with the original: original 100.0 %, n=1" in result.output
    assert "wrote" in result.output and "(1 step," in result.output
    classified = runner.invoke(cli, ["classify", str(photos / "photos" / "a.png"), "--weights", str(out),
                                     "--top-k", "1"])
    assert classified.exit_code == 0, classified.output
    again = runner.invoke(cli, args)
    assert again.exit_code == 1 and "exists; use --force" in again.output
    more = runner.invoke(cli, [*args[:args.index("--steps")], "--steps", "2", *args[args.index("--steps") + 2:],
                               "--resume"])
    assert more.exit_code == 0, more.output
    assert "(2 steps" in more.output and "step 0:" not in more.output


@pytest.mark.slow
def test_labelled_classifier_from_a_class_folder_tree(runner, photos, weights_file, resnet50_weights, tmp_path):
    out = tmp_path / "labelled.pth"
    result = runner.invoke(cli, _args(weights_file, out, "classify", "--labels", str(photos / "tree"),
                                      "--weights", str(resnet50_weights), "--val-fraction", "0.34"))
    assert result.exit_code == 0, result.output
    assert "top-1 accuracy" in result.output and out.is_file()


@pytest.mark.parametrize("extra, code, message", [
    (["--data", "{empty}"], 1, "no photos"),
    (["--data", "{photos}", "--labels", "{bad_tsv}"], 1, "needs a header row with a 'file' column"),
    (["--labels", "{bad_tree}"], 1, "no class 'unicorn'"),
    (["--labels", "{photos}/tree", "--data", "{photos}"], 2, "drop --data"),
    ([], 2, "give --data"),
    (["--data", "{photos}", "-n", "3-1"], 2, "not an iteration count or a range"),
    (["--data", "{photos}", "--resume", "--force"], 2, "give one"),
    (["--data", "{photos}", "--resume"], 1, "no checkpoint"),
    (["--data", "{photos}", "--recognizer", "mobilenet-ssd"], 2, "detection recognizer, not classification"),
])
def test_classify_input_errors_are_one_line(runner, photos, weights_file, resnet50_weights, tmp_path, extra, code,
                                            message):
    empty, bad_tree = tmp_path / "empty", tmp_path / "bad-tree" / "unicorn"
    empty.mkdir()
    bad_tree.mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(bad_tree / "x.png")
    (tmp_path / "bad.tsv").write_text("name;class\na.png;3\n")
    names = {"empty": empty, "photos": photos, "bad_tsv": tmp_path / "bad.tsv", "bad_tree": bad_tree.parent}
    extra = [value.format(**names) for value in extra]
    result = runner.invoke(cli, _args(weights_file, tmp_path / "out.pth", "classify", "--weights",
                                      str(resnet50_weights), *extra))
    assert result.exit_code == code, result.output
    _one_error_line(result, message)
    assert not (tmp_path / "out.pth").exists()


def test_an_existing_checkpoint_is_not_overwritten_without_resume_or_force(runner, photos, weights_file, tmp_path):
    (tmp_path / "out.pth.ckpt").write_bytes(b"an earlier run")
    result = runner.invoke(cli, _args(weights_file, tmp_path / "out.pth", "classify", "--data", str(photos)))
    assert result.exit_code == 1 and "--resume to continue that run, --force to start over" in result.output
    assert (tmp_path / "out.pth.ckpt").read_bytes() == b"an earlier run"


@pytest.mark.slow
def test_label_free_detector_loads_in_rnc_detect(runner, photos, weights_file, ssd_weights, tmp_path):
    out = tmp_path / "ssd.pth"
    result = runner.invoke(cli, _args(weights_file, out, "detect", "--data", str(photos / "photos"), "--weights",
                                      str(ssd_weights), "--val-every", "0"))
    assert result.exit_code == 0, result.output
    detected = runner.invoke(cli, ["detect", str(photos / "photos" / "a.png"), "--weights", str(out)])
    assert detected.exit_code == 0, detected.output


@pytest.mark.parametrize("extra, code, message", [
    (["--annotations", "{photos}"], 2, "--annotations and --format go together"),
    (["--annotations", "{photos}", "--format", "voc"], 1, "a.xml: no such annotation file"),
    (["--annotations", "{bad_yolo}", "--format", "yolo"], 1, "expected 'class cx cy w h'"),
])
def test_detect_label_errors_are_one_line(runner, photos, weights_file, tmp_path, extra, code, message):
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("person 0.5 0.5 0.2 0.2\n")
    names = {"photos": photos / "photos", "bad_yolo": tmp_path / "labels"}
    extra = [value.format(**names) for value in extra]
    result = runner.invoke(cli, _args(weights_file, tmp_path / "out.pth", "detect", "--data",
                                      str(photos / "photos"), *extra))
    assert result.exit_code == code, result.output
    _one_error_line(result, message)


def test_class_folders_by_name_or_by_all_imagenet_wnids(tmp_path):
    from rnncodec.cli.finetune import _class_folders

    for name in ("n02", "n01", "n03"):
        (tmp_path / "wnids" / f"n0000000{name[-1]}").mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "wnids" / f"n0000000{name[-1]}" / "x.png")
    photos, truth = _class_folders(tmp_path / "wnids", ["tench", "goldfish", "shark"])
    assert sorted((p.parent.name, i) for p, i in truth.items()) == [("n00000001", 0), ("n00000002", 1),
                                                                   ("n00000003", 2)]
    (tmp_path / "names" / "Goldfish").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "names" / "Goldfish" / "x.png")
    assert list(_class_folders(tmp_path / "names", ["tench", "goldfish", "shark"])[1].values()) == [1]
