#!/usr/bin/env python3
"""Checks a DICOM SEG written by Vasa against its source series, with pydicom.

Usage: seg_check.py SEG_PATH SOURCE_DIR EXPECTED.json

EXPECTED.json is {"dims": [nx, ny, nz], "classes": {"1": [voxel indices], ...}}
with voxel index i + nx * (j + ny * k), k being the rank of the source slice
along the slice normal (ascending).

Asserts:
- the SEG is a binary Segmentation (SOP class, modality, 1-bit pixels);
- StudyInstanceUID and FrameOfReferenceUID equal the source's, and
  ReferencedSeriesSequence names the source series and all its instances;
- orientation and pixel spacing equal the source's;
- every frame's DerivationImageSequence[0].SourceImageSequence[0] names the
  source file of the slice at that frame's ImagePositionPatient (matched by
  position), with the right SOP class and purpose of reference;
- the segments carry the SNOMED CT property codes of their class;
- the labels rebuilt from the frames (bits unpacked with numpy, placed by
  position and segment number) equal the expected label map, and pydicom's own
  pixel decoder agrees with the manual unpacking.

Prints what was checked; exits non-zero with a reason on the first mismatch.
"""

import json
import os
import sys

import numpy as np
import pydicom

SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
TYPE_CODES = {"81040000": 1, "122972007": 2, "15825003": 3, "4147007": 4}
CATEGORY_CODES = {1: "123037004", 2: "123037004", 3: "123037004", 4: "49755003"}


def fail(reason):
    print(f"seg_check: FAIL: {reason}", file=sys.stderr)
    sys.exit(1)


def expect(condition, reason):
    if not condition:
        fail(reason)


def read_sources(folder):
    """The source slices sorted along the slice normal."""
    sources = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            sources.append(pydicom.dcmread(path, stop_before_pixels=True))
    expect(sources, f"no DICOM files in {folder}")
    iop = np.array(sources[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    sources.sort(key=lambda ds: float(np.dot(np.array(ds.ImagePositionPatient, dtype=float), normal)))
    return sources, iop


def check_header(seg, src):
    expect(seg.SOPClassUID == SEGMENTATION_STORAGE, f"SOPClassUID is {seg.SOPClassUID}")
    expect(seg.file_meta.MediaStorageSOPClassUID == SEGMENTATION_STORAGE, "MediaStorageSOPClassUID is not SEG")
    expect(seg.Modality == "SEG", f"Modality is {seg.Modality}")
    expect(seg.SegmentationType == "BINARY", f"SegmentationType is {seg.SegmentationType}")
    for keyword, value in [("BitsAllocated", 1), ("BitsStored", 1), ("HighBit", 0), ("SamplesPerPixel", 1)]:
        expect(getattr(seg, keyword) == value, f"{keyword} is {getattr(seg, keyword)}, expected {value}")
    expect(seg.PhotometricInterpretation == "MONOCHROME2", "PhotometricInterpretation is not MONOCHROME2")
    expect(seg.StudyInstanceUID == src.StudyInstanceUID, "StudyInstanceUID differs from the source's")
    expect(seg.FrameOfReferenceUID == src.FrameOfReferenceUID, "FrameOfReferenceUID differs from the source's")
    expect(seg.SeriesInstanceUID != src.SeriesInstanceUID, "the SEG reuses the source SeriesInstanceUID")
    print("checked: SOP class, modality, binary 1-bit pixels, study and frame-of-reference UIDs")


def check_referenced_series(seg, sources):
    refs = seg.ReferencedSeriesSequence
    expect(len(refs) == 1, f"ReferencedSeriesSequence has {len(refs)} items")
    expect(refs[0].SeriesInstanceUID == sources[0].SeriesInstanceUID, "ReferencedSeriesSequence names another series")
    listed = {item.ReferencedSOPInstanceUID for item in refs[0].ReferencedInstanceSequence}
    wanted = {ds.SOPInstanceUID for ds in sources}
    expect(listed == wanted, f"ReferencedInstanceSequence lists {sorted(listed)}, the source has {sorted(wanted)}")
    print(f"checked: ReferencedSeriesSequence names the source series and its {len(wanted)} instances")


def check_geometry(seg, src, iop):
    shared = seg.SharedFunctionalGroupsSequence[0]
    seg_iop = np.array(shared.PlaneOrientationSequence[0].ImageOrientationPatient, dtype=float)
    expect(np.allclose(seg_iop, iop, atol=1e-6), f"ImageOrientationPatient {seg_iop} differs from {iop}")
    spacing = np.array(shared.PixelMeasuresSequence[0].PixelSpacing, dtype=float)
    src_spacing = np.array(src.PixelSpacing, dtype=float)
    expect(np.allclose(spacing, src_spacing, atol=1e-6), f"PixelSpacing {spacing} differs from {src_spacing}")
    expect((seg.Rows, seg.Columns) == (src.Rows, src.Columns), "Rows/Columns differ from the source's")
    print("checked: orientation, pixel spacing and matrix size equal the source's")


def segment_classes(seg):
    classes = {}
    for item in seg.SegmentSequence:
        code = item.SegmentedPropertyTypeCodeSequence[0]
        expect(code.CodingSchemeDesignator == "SCT", f"segment {item.SegmentNumber} type scheme {code.CodingSchemeDesignator}")
        expect(code.CodeValue in TYPE_CODES, f"segment {item.SegmentNumber} has unknown type code {code.CodeValue}")
        cls = TYPE_CODES[code.CodeValue]
        category = item.SegmentedPropertyCategoryCodeSequence[0].CodeValue
        expect(category == CATEGORY_CODES[cls], f"segment {item.SegmentNumber} category {category}")
        expect(len(item.RecommendedDisplayCIELabValue) == 3, "RecommendedDisplayCIELabValue needs 3 values")
        classes[int(item.SegmentNumber)] = cls
    print(f"checked: {len(classes)} segments with SNOMED CT codes: {classes}")
    return classes


def unpack_frames(seg):
    n, rows, cols = int(seg.NumberOfFrames), int(seg.Rows), int(seg.Columns)
    expect(len(seg.PerFrameFunctionalGroupsSequence) == n, "PerFrameFunctionalGroupsSequence length != NumberOfFrames")
    raw = np.frombuffer(seg.PixelData, dtype=np.uint8)
    expect(len(raw) % 2 == 0, "PixelData has an odd length")
    bits = np.unpackbits(raw, bitorder="little")
    expect(len(bits) >= n * rows * cols, f"PixelData holds {len(bits)} bits, {n} frames need {n * rows * cols}")
    frames = bits[: n * rows * cols].reshape(n, rows, cols)
    decoded = np.asarray(seg.pixel_array).reshape(n, rows, cols)
    expect(np.array_equal(decoded, frames), "pydicom's pixel_array disagrees with the manual unpacking")
    print(f"checked: {n} frames of {rows}x{cols} bits, pydicom pixel_array agrees")
    return frames


def source_index(sources, ipp):
    for k, ds in enumerate(sources):
        if np.allclose(np.array(ds.ImagePositionPatient, dtype=float), ipp, atol=1e-3):
            return k
    fail(f"no source slice at ImagePositionPatient {list(ipp)}")


def rebuild(seg, sources, classes, frames):
    labels = np.zeros((len(sources), int(seg.Rows), int(seg.Columns)), dtype=np.uint8)
    for f, group in enumerate(seg.PerFrameFunctionalGroupsSequence):
        ipp = np.array(group.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        k = source_index(sources, ipp)
        derivation = group.DerivationImageSequence[0]
        ref = derivation.SourceImageSequence[0]
        expect(ref.ReferencedSOPInstanceUID == sources[k].SOPInstanceUID,
               f"frame {f + 1} references {ref.ReferencedSOPInstanceUID}, the slice at its position is {sources[k].SOPInstanceUID}")
        expect(ref.ReferencedSOPClassUID == sources[k].SOPClassUID, f"frame {f + 1} ReferencedSOPClassUID differs")
        expect(ref.PurposeOfReferenceCodeSequence[0].CodeValue == "121322", f"frame {f + 1} purpose of reference")
        expect(derivation.DerivationCodeSequence[0].CodeValue == "113076", f"frame {f + 1} derivation code")
        segment = int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        expect(segment in classes, f"frame {f + 1} names segment {segment}, not in SegmentSequence")
        expect(int(group.FrameContentSequence[0].DimensionIndexValues[0]) == segment,
               f"frame {f + 1} DimensionIndexValues does not start with its segment number")
        mask = frames[f] == 1
        expect(mask.any(), f"frame {f + 1} is empty (only frames holding their segment should be written)")
        expect(not labels[k][mask].any(), f"frame {f + 1} overlaps another segment")
        labels[k][mask] = classes[segment]
    print(f"checked: every frame's SourceImageSequence names the source slice at its position")
    return labels


def expected_labels(path, shape):
    with open(path) as f:
        spec = json.load(f)
    nx, ny, nz = spec["dims"]
    expect((nz, ny, nx) == shape, f"expected dims {spec['dims']} but the SEG and source give {shape[::-1]}")
    flat = np.zeros(nx * ny * nz, dtype=np.uint8)
    for cls, indices in spec["classes"].items():
        flat[np.array(indices, dtype=np.int64)] = int(cls)
    return flat.reshape(nz, ny, nx)


def main():
    if len(sys.argv) != 4:
        fail("usage: seg_check.py SEG_PATH SOURCE_DIR EXPECTED.json")
    seg_path, source_dir, expected_path = sys.argv[1:]
    seg = pydicom.dcmread(seg_path)
    sources, iop = read_sources(source_dir)
    check_header(seg, sources[0])
    check_referenced_series(seg, sources)
    check_geometry(seg, sources[0], iop)
    classes = segment_classes(seg)
    frames = unpack_frames(seg)
    labels = rebuild(seg, sources, classes, frames)
    expected = expected_labels(expected_path, labels.shape)
    if not np.array_equal(labels, expected):
        diff = np.argwhere(labels != expected)
        k, j, i = diff[0]
        fail(f"{len(diff)} voxels differ from the expected labels; first at (i={i}, j={j}, k={k}): "
             f"SEG {labels[k, j, i]}, expected {expected[k, j, i]}")
    counts = {int(c): int((labels == c).sum()) for c in np.unique(labels) if c}
    print(f"checked: labels rebuilt from the frames equal the expected label map (voxels per class {counts})")
    print("seg_check: OK")


if __name__ == "__main__":
    main()
