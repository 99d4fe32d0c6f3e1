# Shared setup of the trial's reproducers: sourced, not run. The attack
# review's setup is the same (MEDVAULT, T, MNT, mvt, bug, ok, mount_ext4,
# init_backup, WIPE, written...): reuse it rather than a copy.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../wipe-attack/common.sh"
