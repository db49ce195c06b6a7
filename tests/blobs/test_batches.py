"""A marker's batch, pure: the folder a marker completes, what a manifest lists, and why a batch must not run (each
unusable file by name, at most ten named, the rest counted), with the record a submitted batch keeps."""

from __future__ import annotations

import pytest

from shared.core.blobs.batches import Batch, Listed, batch_problem, manifest_files, marker_folder

pytestmark = pytest.mark.unit

CSV = b"a,b\n1,2\n"


@pytest.mark.parametrize(("marker", "folder"), [("in/day/_SUCCESS", "in/day/"), ("_SUCCESS", "")])
def test_a_marker_completes_the_folder_it_is_in(marker, folder):
    assert marker_folder(marker) == folder


@pytest.mark.parametrize(("document", "why"), [
    (b'{"files": ["/a.csv"]}', "the manifest lists '/a.csv', which starts with '/'"),
    (b'{"files": ["x%41.csv"]}', "the manifest lists 'x%41.csv', which contains a percent-escape (%XX): a layer "
                                 "that decodes it would read another path"),
    (b'{"files": ["a.csv", 3]}', 'the manifest must be {"files": ["part-1.csv", ...]}: a non-empty list of file '
                                 "names in its folder"),
    (b'{"files": "a.csv"}', 'the manifest must be {"files": ["part-1.csv", ...]}: a non-empty list of file names '
                            "in its folder"),
    (b'{"files": ', "the manifest is not valid JSON (Expecting value at line 1 column 11)"),
])
def test_a_manifest_that_cannot_be_used_says_why(document, why):
    assert manifest_files(document, len(document), "d/") == why


def test_a_manifest_read_whole_at_the_limit_is_used():
    document = b'{"files": ["a.csv"]}'
    assert manifest_files(document, len(document), "") == ("a.csv",)


def test_a_batch_without_a_manifest_runs_on_its_folder_and_its_record_says_so():
    batch = Batch("in/day/")

    assert batch.problem("manifest.json", ()) is None
    assert batch.record == {"batch": {"folder": "in/day/"}}


def test_a_manifests_batch_records_the_version_of_each_file_it_ran_on():
    batch = Batch("d/", ("d/a.csv", "d/b.csv"), (Listed("d/a.csv", '"0x1"', CSV, len(CSV)),
                                                  Listed("d/b.csv", '"0x2"', CSV, len(CSV))))

    assert batch.problem("d/manifest.json", ("a",)) is None
    assert batch.record == {"batch": {"folder": "d/", "files": [{"blob": "d/a.csv", "etag": '"0x1"'},
                                                                 {"blob": "d/b.csv", "etag": '"0x2"'}]}}


def test_an_unreadable_manifest_or_an_unusable_listed_file_stops_the_batch_naming_the_manifest():
    assert Batch("d/", "the manifest lists a file twice").problem("d/m.json", ()) == (
        "manifest d/m.json: the manifest lists a file twice")
    unusable = Batch("d/", ("d/a.csv", "d/b.csv"), (Listed("d/a.csv", '"0x1"', CSV, len(CSV)),
                                                     Listed("d/b.csv", unusable="not found")))
    assert unusable.problem("d/m.json", ("b",)) == (
        "manifest d/m.json: 1 of 2 listed files are not usable: d/b.csv: not found")


def test_a_rejection_names_ten_unusable_files_and_counts_the_rest():
    listed = [Listed(f"d/{index}.csv", '"0x1"', b"a,b\n", 4) for index in range(12)]
    shown = "; ".join(f"d/{index}.csv: no data rows (header only)" for index in range(10))

    assert batch_problem(listed, ()) == f"12 of 12 listed files are not usable: {shown}; and 2 more"
    assert batch_problem(listed[:10], ()) == f"10 of 10 listed files are not usable: {shown}"
    assert batch_problem([Listed("d/a.csv", head=CSV, size=len(CSV))], ("a", "c")) == (
        "1 of 1 listed files are not usable: d/a.csv: missing required columns: c (header has: a, b)")
