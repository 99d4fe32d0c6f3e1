#!/usr/bin/env bash
# Makes the golden repository tests/golden/v1 with the medvault binary given
# as $1. Run once per format version; the result is committed and every later
# version must still read it (tests/e2e/t_golden.sh).
set -euo pipefail
MV=${1:?usage: make-golden.sh path/to/medvault}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/v1"
rm -rf "$out" && mkdir -p "$out"
src=$(mktemp -d /tmp/golden-src.XXXXXX)
trap 'rm -rf "$src"' EXIT
python3 - "$src/imaging" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(42)
def w(rel, data, mode=0o644, t=1_577_836_800_123_456_789):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(data)
    os.chmod(p, mode)
    os.utime(p, ns=(t, t))
w("DUPONT^MARIE/2019_MR_knee/IM0001.dcm", b"DICM" + bytes(rnd.getrandbits(4) for _ in range(40000)))
w("DUPONT^MARIE/2019_MR_knee/IM0002.dcm", b"DICM" + bytes(rnd.getrandbits(4) for _ in range(40000)))
w("MARTIN^JEAN/2021_CT_chest/big.dcm", b"DICM" + bytes(rnd.getrandbits(3) for _ in range(1_500_000)), t=1_600_000_000_000_000_001)
w("notes/empty.txt", b"", mode=0o600)
w("notes/ünïcode-é.txt", "accents é à ü\n".encode(), mode=0o640)
os.symlink("../notes/empty.txt", os.path.join(root, "DUPONT^MARIE/link"))
for d in ["DUPONT^MARIE/2019_MR_knee", "MARTIN^JEAN/2021_CT_chest", "notes"]:
    os.utime(os.path.join(root, d), ns=(1_500_000_000_000_000_000,) * 2)
PY
printf 'Golden-Repository-Passw0rd!\n' >"$out/password"
chmod 600 "$out/password"
export MEDVAULT_PASSWORD_FILE="$out/password"
"$MV" init -r "$out/repo" --kdf-memory 64 --kdf-iterations 3 >/dev/null
(cd "$src" && "$MV" backup -q -r "$out/repo" --host golden imaging)
"$MV" snapshots -r "$out/repo" --json >"$out/snapshots.json"
# manifest of the source, relative to the backed-up path, as tests compare it
(cd "$src" && find imaging -mindepth 1 | LC_ALL=C sort | while IFS= read -r f; do
	if [ -L "$f" ]; then
		printf 'L %s -> %s\n' "$f" "$(readlink "$f")"
	elif [ -f "$f" ]; then
		printf 'F %s %s %s %s\n' "$f" "$(stat -c '%a %Y' "$f")" "$(sha256sum <"$f" | cut -c1-64)" "$(stat -c %s "$f")"
	else
		printf 'D %s %s\n' "$f" "$(stat -c '%a' "$f")"
	fi
done) >"$out/manifest.txt"
echo "source was $src/imaging" >"$out/README"
echo "golden repository written to $out"
