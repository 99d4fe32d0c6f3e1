# golden_manifest: run in the directory holding imaging/ (the backed-up
# path), lists every entry below it in byte order: "L path -> target",
# "F path mode mtime sha256 size" or "D path mode". make-golden.sh writes it
# to v1/manifest.txt; t_golden.sh compares a restore with it.
golden_manifest() {
	find imaging -mindepth 1 | LC_ALL=C sort | while IFS= read -r f; do
		if [ -L "$f" ]; then
			printf 'L %s -> %s\n' "$f" "$(readlink "$f")"
		elif [ -f "$f" ]; then
			printf 'F %s %s %s %s\n' "$f" "$(stat -c '%a %Y' "$f")" "$(sha256sum <"$f" | cut -c1-64)" "$(stat -c %s "$f")"
		else
			printf 'D %s %s\n' "$f" "$(stat -c '%a' "$f")"
		fi
	done
}
