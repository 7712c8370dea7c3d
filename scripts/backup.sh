#!/usr/bin/env bash
# Back up the portal: the database (pg_dump custom format, or SQLite's online backup) and the
# evidence store (encrypted files, archived as they are). Usage: scripts/backup.sh DEST_DIR
# Reads DATABASE_URL and MLSEC_MEDIA_ROOT like the portal. Keys are NOT in the backup: back up
# MLSEC_EVIDENCE_KEY and the signing key separately (docs/operations.md).
set -euo pipefail
dest="${1:?usage: scripts/backup.sh DEST_DIR}"
here="$(cd "$(dirname "$0")/.." && pwd)"
url="${DATABASE_URL:-sqlite:///${here}/var/mlsec.sqlite3}"  # dj-database-url: sqlite:////absolute/path
media="${MLSEC_MEDIA_ROOT:-${here}/var/media}"
python="${PYTHON:-${here}/.venv/bin/python}"
[ -x "$python" ] || python=python3
mkdir -p "$dest"

case "$url" in
  postgres://*|postgresql://*)
    pg_dump --format=custom --no-owner --no-privileges --dbname="$url" --file="$dest/database.dump"
    ;;
  sqlite://*)
    # The online backup API gives a consistent copy even while the portal writes.
    "$python" - "${url#sqlite:///}" "$dest/database.sqlite3" <<'PY'
import sqlite3, sys
source, target = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
source.close(); target.close()
PY
    ;;
  *) echo "unsupported DATABASE_URL scheme" >&2; exit 2 ;;
esac

mkdir -p "$media"
tar -C "$media" -czf "$dest/media.tar.gz" .
(cd "$dest" && sha256sum database.* media.tar.gz > SHA256SUMS)
echo "backup written to $dest:"
cat "$dest/SHA256SUMS"
