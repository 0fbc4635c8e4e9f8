"""Ground truth readers of rnc eval: class label files, YOLO / VOC / COCO boxes, class names."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from rnncodec.recognition import DatasetError
from rnncodec.recognition.datasets import Box, list_images, read_annotations, read_class_labels, read_names

CLASSES = ["tench", "goldfish", "great white shark"]


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a.jpg", "b.png"):
        Image.new("RGB", (200, 100)).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    return list_images(folder)


def test_list_images_keeps_image_files_only(images):
    assert [p.name for p in images] == ["a.jpg", "b.png"]


@pytest.mark.parametrize("text", [
    "index\twnid\tname\tfile\n0\tn01\ttench\ta.jpg\n2\tn02\tgreat_white_shark\tb.png\n",
    "file,label\na.jpg,Tench\nb.png,great_white shark\n",
])
def test_class_labels_by_index_or_name(tmp_path, text):
    path = tmp_path / "labels.tsv"
    path.write_text(text)
    assert read_class_labels(path, CLASSES) == {"a.jpg": 0, "b.png": 2}


@pytest.mark.parametrize("text, message", [
    ("name,file\nx,a.jpg\n", "header row"),
    ("file,index\na.jpg,7\n", "not in 0…2"),
    ("file,label\na.jpg,whale\n", "no class 'whale'"),
])
def test_class_label_errors_say_where(tmp_path, text, message):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_class_labels(path, CLASSES)


@pytest.mark.parametrize("name, text", [
    ("data.yaml", "path: .\nnames:\n  0: person\n  1: 'traffic light'\nnc: 2\n"),
    ("data.yml", "names: [person, traffic light]\n"),
    ("data.yaml", "names:\n  - person\n  - traffic light\n"),
    ("names.txt", "person\ntraffic light\n\n"),
])
def test_read_names(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    assert read_names(path) == ["person", "traffic light"]


def test_the_three_formats_give_the_same_boxes(tmp_path, images):
    expected = {"a.jpg": [Box("dog", (50.0, 25.0, 150.0, 75.0)), Box("person", (0.0, 0.0, 20.0, 10.0), True)],
                "b.png": []}
    yolo = tmp_path / "yolo"
    yolo.mkdir()
    (yolo / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n0 0.05 0.05 0.1 0.1\n")
    names_file = tmp_path / "names.txt"
    names_file.write_text("person\ndog\n")
    got = read_annotations("yolo", yolo, images, read_names(names_file))
    assert got == {"a.jpg": [Box("dog", (50.0, 25.0, 150.0, 75.0)), Box("person", (0.0, 0.0, 20.0, 10.0))],
                   "b.png": []}

    voc = tmp_path / "voc"
    voc.mkdir()
    (voc / "a.xml").write_text(
        "<annotation><object><name>dog</name><bndbox><xmin>50</xmin><ymin>25</ymin><xmax>150</xmax>"
        "<ymax>75</ymax></bndbox></object><object><name>person</name><difficult>1</difficult><bndbox>"
        "<xmin>0</xmin><ymin>0</ymin><xmax>20</xmax><ymax>10</ymax></bndbox></object></annotation>")
    (voc / "b.xml").write_text("<annotation></annotation>")
    assert read_annotations("voc", voc, images) == expected

    coco = tmp_path / "instances.json"
    coco.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "a.jpg"}, {"id": 8, "file_name": "train/b.png"}],
        "categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}],
        "annotations": [{"image_id": 7, "category_id": 18, "bbox": [50, 25, 100, 50], "iscrowd": 0},
                        {"image_id": 7, "category_id": 1, "bbox": [0, 0, 20, 10], "iscrowd": 1}]}))
    assert read_annotations("coco", coco, images) == expected


def test_yolo_without_names_uses_the_coco_classes(tmp_path, images):
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "b.txt").write_text("0 0.5 0.5 1 1\n")
    assert read_annotations("yolo", folder, images)["b.png"] == [Box("person", (0.0, 0.0, 200.0, 100.0))]


def test_annotation_errors_say_where(tmp_path, images):
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "a.txt").write_text("0 0.5\n")
    with pytest.raises(DatasetError, match=r"a.txt, line 1"):
        read_annotations("yolo", folder, images)
    with pytest.raises(DatasetError, match="no such annotation file"):
        read_annotations("voc", folder, images)
    coco = tmp_path / "c.json"
    coco.write_text(json.dumps({"images": [], "categories": [], "annotations": []}))
    with pytest.raises(DatasetError, match="2 images are not in the annotations"):
        read_annotations("coco", coco, images)
