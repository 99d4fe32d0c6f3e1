#!/usr/bin/env bash
# DICOM files made by dcmtk (dump2dcm, img2dcm, dcmmkdir) in every transfer
# syntax medvault reads, with Latin-1 and UTF-8 accented names, sequences of
# undefined length, encapsulated pixel data, no meta header, and broken
# (truncated) copies; the tags medvault's reader extracts are compared with
# dcmdump's view of the same files. The comparison runs in the unit test
# binary test_dicom_dcmtk (built beside medvault), given the files and an
# expected.txt written here from dcmdump's output. Skips (77) when dcmtk
# cannot be installed.
. "$(dirname "$0")/lib.sh"

have_dcmtk() { command -v dump2dcm && command -v dcmdump && command -v img2dcm && command -v dcmmkdir; } >/dev/null
if ! have_dcmtk; then
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends dcmtk \
		>/dev/null 2>&1 || true
	have_dcmtk || { echo "SKIP: dcmtk not installed and cannot be installed"; exit 77; }
fi
CHECK="$(dirname "$MV_BIN")/test_dicom_dcmtk"
[ -x "$CHECK" ] || fail "$CHECK not built"

D="$T/dcm"
mkdir -p "$D"
EXPECTED="$D/expected.txt"
: >"$EXPECTED"

# expect FILE FLAGS [TS]: appends FILE's line to expected.txt from dcmdump's
# output (values converted to UTF-8; top-level elements only, as medvault
# reads them): file|PatientName|PatientID|StudyInstanceUID|Modality|
# TransferSyntaxUID|PixelDataLength|flags. TS overrides the transfer syntax
# (files without meta header, where dcmdump shows none).
expect() {
	local f=$1 flags=$2 ts=${3:-}
	dcmdump +E -Un +U8 "$D/$f" >"$T/dump.txt" 2>/dev/null || true
	python3 - "$T/dump.txt" "$f" "$flags" "$ts" >>"$EXPECTED" <<'EOF'
import re, sys
dump, name, flags, ts_override = sys.argv[1:5]
want = {"0010,0010": "", "0010,0020": "", "0020,000d": "", "0008,0060": "", "0002,0010": ""}
seen = set()
pixel = ""
line_re = re.compile(r"^\(([0-9a-f]{4},[0-9a-f]{4})\) (\w\w) (.*?)\s+#\s*([0-9]+|u/l),")
for line in open(dump, encoding="utf-8", errors="strict"):
    m = line_re.match(line)  # no indentation: top level only
    if not m:
        continue
    tag, vr, value, length = m.groups()
    if tag == "7fe0,0010" and not pixel:
        pixel = "4294967295" if length == "u/l" else length
    if tag in want and tag not in seen:
        seen.add(tag)
        v = value[1:-1] if value.startswith("[") and value.endswith("]") else ""
        want[tag] = v.strip(" ")
if ts_override:
    want["0002,0010"] = ts_override
fields = [name, want["0010,0010"], want["0010,0020"], want["0020,000d"], want["0008,0060"],
          want["0002,0010"], pixel, flags]
assert all("|" not in x for x in fields)
print("|".join(fields))
EOF
}

# A data set dump: $1 = character set line, $2 = patient name (UTF-8).
dataset() {
	cat <<EOF
$1
(0008,0016) UI =CTImageStorage
(0008,0018) UI [1.2.826.0.1.3680043.2.1125.1.$RANDOM]
(0008,0020) DA [20190315]
(0008,0030) TM [101530]
(0008,0050) SH [ACC-42]
(0008,0060) CS [CT]
(0008,0080) LO [CHU de Nantes]
(0008,1030) LO [Thorax]
(0008,1140) SQ (Sequence)
  (fffe,e000) na (Item)
    (0008,1150) UI =CTImageStorage
    (0008,1155) UI [1.2.3.4.5]
    (0010,0010) PN [WRONG^NESTED]
    (0040,a730) SQ (Sequence)
      (fffe,e000) na (Item)
        (0010,0020) LO [WRONG-ID]
      (fffe,e00d) na (ItemDelimitationItem)
    (fffe,e0dd) na (SequenceDelimitationItem)
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0010,0010) PN [$2]
(0010,0020) LO [PAT-$RANDOM]
$(dcm_image_tail "1.2.826.0.1.3680043.2.1125.2.$RANDOM" "1.2.826.0.1.3680043.2.1125.3.$RANDOM" "0fff")
EOF
}

latin1() { dataset "(0008,0005) CS [ISO_IR 100]" "$1" | iconv -f UTF-8 -t ISO-8859-1; }
utf8() { dataset "(0008,0005) CS [ISO_IR 192]" "$1"; }
ascii() { dataset "" "$1"; }

# mkdcm NAME DUMP-FUNCTION PATIENT dump2dcm-options...
mkdcm() {
	local name=$1 gen=$2 patient=$3
	shift 3
	$gen "$patient" >"$T/$name.dump"
	dump2dcm -q "$@" "$T/$name.dump" "$D/$name" || fail "dump2dcm $* $name"
}

mkdcm el_latin1.dcm latin1 "Müller^Zoë" +te -e # undefined-length sequences and items
mkdcm el_utf8.dcm utf8 "Şahin^Jérôme" +te
mkdcm il_latin1.dcm latin1 "Lefèvre^Inès" +ti
mkdcm il_utf8_undef.dcm utf8 "Ελληνικά^Σοφία" +ti -e
mkdcm eb_latin1.dcm latin1 "Noël^François" +tb -e
mkdcm eb_ascii.dcm ascii "DUPONT^MARIE" +tb
mkdcm df_latin1.dcm latin1 "Hélène^Zoë" +td -e
mkdcm df_utf8.dcm utf8 "Øster^Åse" +td
mkdcm bare_il.dcm utf8 "Dataset^Only" -F +ti # no preamble, no meta
mkdcm bare_el.dcm latin1 "Sans^Entête" -F +te
for f in el_latin1 el_utf8 il_latin1 il_utf8_undef eb_latin1 eb_ascii; do
	expect "$f.dcm" "-"
done
expect df_latin1.dcm deflated
expect df_utf8.dcm deflated
expect bare_il.dcm no_preamble,no_meta 1.2.840.10008.1.2
expect bare_el.dcm no_preamble,no_meta 1.2.840.10008.1.2.1

# encapsulated (JPEG) pixel data
cat >"$T/jpeg.dump" <<'EOF'
(0002,0010) UI [1.2.840.10008.1.2.4.50]
(0008,0005) CS [ISO_IR 192]
(0008,0016) UI =SecondaryCaptureImageStorage
(0008,0018) UI [1.2.826.0.1.3680043.2.1125.1.777]
(0008,0060) CS [OT]
(0010,0010) PN [Nuñez^José]
(0010,0020) LO [JPEG-1]
(0020,000d) UI [1.2.826.0.1.3680043.2.1125.2.777]
(0028,0010) US 1
(0028,0011) US 1
(0028,0100) US 8
(7fe0,0010) OB (PixelSequence)
  (fffe,e000) pi (no value available)
  (fffe,e000) pi ff\d8\ff\d9
(fffe,e0dd) na (SequenceDelimitationItem)
EOF
dump2dcm -q "$T/jpeg.dump" "$D/jpeg.dcm" || fail "dump2dcm jpeg"
expect jpeg.dcm "-"

# img2dcm from a small generated 24-bit BMP
python3 - "$T/img.bmp" <<'EOF'
import struct, sys
w = h = 8
rows = []
for y in range(h):
    r = b"".join(bytes([x * 30 % 256, y * 30 % 256, (x + y) * 15 % 256]) for x in range(w))
    rows.append(r + b"\0" * ((4 - len(r) % 4) % 4))
pix = b"".join(rows)
hdr = b"BM" + struct.pack("<IHHI", 54 + len(pix), 0, 0, 54)
hdr += struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pix), 2835, 2835, 0, 0)
open(sys.argv[1], "wb").write(hdr + pix)
EOF
img2dcm -q -i BMP "$T/img.bmp" "$D/img.dcm" -k "SpecificCharacterSet=ISO_IR 192" \
	-k "PatientName=Dubois^Hélène" -k "PatientID=IMG-7" -k "Modality=OT" \
	-k "StudyInstanceUID=1.2.826.0.1.3680043.2.1125.2.99" || fail "img2dcm"
expect img.dcm "-"

# a DICOMDIR of the img2dcm file
mkdir -p "$T/cd/IMAGES"
cp "$D/img.dcm" "$T/cd/IMAGES/IM000001"
(cd "$T/cd" && dcmmkdir -q +I IMAGES/IM000001) || fail "dcmmkdir"
cp "$T/cd/DICOMDIR" "$D/DICOMDIR"
expect DICOMDIR dicomdir

# broken: cut inside the pixel data, and in the middle of the patient id's
# element header (dcmdump +E shows what it could read; so must medvault)
size=$(stat -c %s "$D/el_latin1.dcm")
head -c $((size - 3)) "$D/el_latin1.dcm" >"$D/cut_pixels.dcm"
expect cut_pixels.dcm truncated
off=$(grep -boa 'PAT-' "$D/il_latin1.dcm" | head -1 | cut -d: -f1)
head -c $((off - 5)) "$D/il_latin1.dcm" >"$D/cut_header.dcm"
expect cut_header.dcm truncated
grep -q '^cut_header.dcm|Lef' "$EXPECTED" || fail "dcmdump did not read the cut header"

# every accented name reached expected.txt intact (UTF-8 from dcmdump +U8)
for n in "Müller^Zoë" "Şahin^Jérôme" "Ελληνικά^Σοφία" "Noël^François" "Øster^Åse" "Nuñez^José"; do
	grep -q "|$n|" "$EXPECTED" || fail "'$n' missing from dcmdump's output"
done

MEDVAULT_DCMTK_DIR="$D" "$CHECK" >"$T/check.out" 2>&1 || {
	cat "$T/check.out" "$EXPECTED"
	fail "medvault's DICOM reader disagrees with dcmdump"
}
grep -q "checked 15 files" "$T/check.out" || { cat "$T/check.out"; fail "not all files checked"; }
pass
