#!/usr/bin/env python3
"""Writes minimal DICOM Part 10 files (explicit VR little endian) with
random 16-bit pixel data, for deduplication tests.
Usage: mkdicom.py DIR COUNT PIXEL_BYTES SEED PATIENT_NAME [PATIENT_ID [STUDY_UID]]
(defaults: PID001 and 1.2.3.4: every file names the same patient and study)"""
import os, random, struct, sys

def el(group, elem, vr, value):
    if len(value) % 2:
        value += b"\0" if vr == b"UI" else b" "
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        return struct.pack("<HH2sHI", group, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value

def dicom(name, uid, pixels, pid=b"PID001", study=b"1.2.3.4"):
    ts = b"1.2.840.10008.1.2.1"
    meta = el(2, 0x10, b"UI", ts)
    out = b"\0" * 128 + b"DICM" + el(2, 0, b"UL", struct.pack("<I", len(meta))) + meta
    out += el(8, 0x18, b"UI", uid.encode())
    out += el(8, 0x60, b"CS", b"MR")
    out += el(0x10, 0x10, b"PN", name.encode())
    out += el(0x10, 0x20, b"LO", pid)
    out += el(0x20, 0x0D, b"UI", study)
    out += el(0x28, 0x100, b"US", struct.pack("<H", 16))
    out += el(0x7FE0, 0x10, b"OW", pixels)
    return out

d, count, size, seed, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
pid = sys.argv[6].encode() if len(sys.argv) > 6 else b"PID001"
study = sys.argv[7].encode() if len(sys.argv) > 7 else b"1.2.3.4"
rnd = random.Random(seed)
os.makedirs(d, exist_ok=True)
for i in range(count):
    pix = rnd.randbytes(size)
    with open(os.path.join(d, f"IM{i:04d}.dcm"), "wb") as f:
        f.write(dicom(name, f"{study.decode()}.{i}", pix, pid, study))
