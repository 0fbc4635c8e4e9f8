"""rnc truncate."""

from __future__ import annotations

import os
import stat

import pytest

from rnncodec.cli.main import cli
from rnncodec.formats import read, truncate, truncation_sizes


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_output_is_the_library_result(runner, rnc_path, tmp_path):
    out = tmp_path / "small.rnc"
    result = runner.invoke(cli, ["truncate", str(rnc_path), "-n", "2", "-o", str(out)])
    assert result.exit_code == 0 and result.output.endswith("small.rnc: 2 iterations, 188 bytes\n")
    assert out.read_bytes() == truncate(rnc_path, 2)
    assert read(out).iterations == 2 and not _leftovers(tmp_path)


def test_one_iteration_is_said_in_the_singular(runner, rnc_path, tmp_path):
    out = tmp_path / "one.rnc"
    result = runner.invoke(cli, ["truncate", str(rnc_path), "-n", "1", "-o", str(out)])
    assert result.exit_code == 0 and result.output.endswith(f"one.rnc: 1 iteration, {out.stat().st_size} bytes\n")


def test_existing_output_needs_force(runner, rnc_path, tmp_path):
    out = tmp_path / "small.rnc"
    out.write_bytes(b"precious")
    result = runner.invoke(cli, ["truncate", str(rnc_path), "-n", "1", "-o", str(out)])
    assert result.exit_code == 1
    assert result.output == f"Error: {out} exists; use --force to overwrite it\n"
    assert out.read_bytes() == b"precious"
    result = runner.invoke(cli, ["truncate", str(rnc_path), "-n", "1", "-o", str(out), "--force"])
    assert result.exit_code == 0 and out.read_bytes() == truncate(rnc_path, 1)


def test_in_place_keeps_permissions(runner, rnc_path):
    original = rnc_path.read_bytes()
    os.chmod(rnc_path, 0o640)
    result = runner.invoke(cli, ["-v", "truncate", str(rnc_path), "-n", "3", "--in-place"])
    assert result.exit_code == 0
    assert rnc_path.read_bytes() == truncate(original, 3)
    assert stat.S_IMODE(rnc_path.stat().st_mode) == 0o640
    assert not _leftovers(rnc_path.parent)


@pytest.mark.parametrize(
    "args, message",
    [
        (["-n", "1"], "give exactly one of -o/--output and --in-place"),
        (["-n", "1", "--in-place", "-o", "x.rnc"], "give exactly one of -o/--output and --in-place"),
        (["-n", "9", "--in-place"], "has only 4 iterations"),
        (["-n", "-1", "--in-place"], "-1 is not in the range x>=0"),
        (["--in-place"], "give exactly one of -n/--iterations and --max-bytes"),
        (["-n", "1", "--max-bytes", "900", "--in-place"], "give exactly one of -n/--iterations and --max-bytes"),
        (["-n", "1", "--allow-larger", "--in-place"], "--allow-larger goes with --max-bytes"),
        (["--max-bytes", "0", "--in-place"], "0 is not in the range x>=1"),
    ],
)
def test_usage_errors_exit_2(runner, rnc_path, args, message):
    before = rnc_path.read_bytes()
    result = runner.invoke(cli, ["truncate", str(rnc_path), *args])
    assert result.exit_code == 2 and message in result.output
    assert rnc_path.read_bytes() == before


def test_a_bad_input_leaves_no_output(runner, rnc_path, tmp_path):
    data = bytearray(rnc_path.read_bytes())
    data[-20] ^= 0xFF  # inside the last RITR chunk: found after earlier chunks were written
    rnc_path.write_bytes(bytes(data))
    out = tmp_path / "out.rnc"
    result = runner.invoke(cli, ["truncate", str(rnc_path), "-n", "1", "-o", str(out)])
    assert result.exit_code == 1 and result.output.startswith("Error: broken RNC file: bad CRC in chunk RITR #4")
    assert not out.exists() and not _leftovers(tmp_path)


def test_missing_input_and_missing_output_folder(runner, rnc_path, tmp_path):
    result = runner.invoke(cli, ["truncate", str(tmp_path / "nope.rnc"), "-n", "1", "--in-place"])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(cli, ["truncate", str(rnc_path), "-n", "1", "-o", str(tmp_path / "no" / "x.rnc")])
    assert result.exit_code == 1 and "its folder does not exist" in result.output


def test_max_bytes_keeps_the_most_iterations_that_fit(runner, rnc_path, tmp_path):
    sizes = truncation_sizes(rnc_path)
    out = tmp_path / "small.rnc"
    for budget, kept in [(sizes[1], 1), (sizes[3] - 1, 2), (sizes[3], 3), (sizes[4] + 1000, 4)]:
        result = runner.invoke(cli, ["truncate", str(rnc_path), "--max-bytes", str(budget), "-o", str(out), "--force"])
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == truncate(rnc_path, kept) and out.stat().st_size <= budget


def test_max_bytes_below_one_iteration(runner, rnc_path, tmp_path):
    one = truncation_sizes(rnc_path)[1]
    out = tmp_path / "small.rnc"
    args = ["truncate", str(rnc_path), "--max-bytes", str(one - 1), "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1 and not out.exists()
    assert result.output == (f"Error: {rnc_path}: {one - 1:,} bytes is below the smallest file, {one:,} bytes "
                             "(1 iteration); --allow-larger keeps 1 iteration anyway\n")
    result = runner.invoke(cli, [*args, "--allow-larger"])
    assert result.exit_code == 0 and "Warning:" in result.output and "kept 1 iteration" in result.output
    assert out.read_bytes() == truncate(rnc_path, 1)


def test_max_bytes_from_stdin_to_stdout(runner, rnc_path):
    sizes = truncation_sizes(rnc_path)
    result = runner.invoke(cli, ["truncate", "-", "--max-bytes", str(sizes[2]), "-o", "-"],
                           input=rnc_path.read_bytes())
    assert result.exit_code == 0
    assert result.stdout_bytes == truncate(rnc_path, 2)
