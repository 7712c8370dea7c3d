#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an EMPTY database and an empty evidence store,
# then verify it. Usage: scripts/restore.sh BACKUP_DIR
# DATABASE_URL names the (empty) target database, MLSEC_MEDIA_ROOT the (empty) target folder, and
# MLSEC_EVIDENCE_KEY must hold the key(s) the files were encrypted with.
set -euo pipefail
src="${1:?usage: scripts/restore.sh BACKUP_DIR}"
here="$(cd "$(dirname "$0")/.." && pwd)"
url="${DATABASE_URL:?set DATABASE_URL to the empty target database}"
media="${MLSEC_MEDIA_ROOT:?set MLSEC_MEDIA_ROOT to the empty target folder}"
python="${PYTHON:-${here}/.venv/bin/python}"
[ -x "$python" ] || python=python3

(cd "$src" && sha256sum --check --quiet SHA256SUMS) || { echo "backup files do not match SHA256SUMS" >&2; exit 1; }

case "$url" in
  postgres://*|postgresql://*)
    pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$src/database.dump"
    ;;
  sqlite://*)
    target="${url#sqlite:///}"  # sqlite:////abs/path → /abs/path, sqlite:///rel → rel
    [ ! -s "$target" ] || { echo "refusing to overwrite the non-empty database $target" >&2; exit 1; }
    cp "$src/database.sqlite3" "$target"
    ;;
  *) echo "unsupported DATABASE_URL scheme" >&2; exit 2 ;;
esac

mkdir -p "$media"
[ -z "$(ls -A "$media")" ] || { echo "refusing to restore into the non-empty folder $media" >&2; exit 1; }
tar -C "$media" -xzf "$src/media.tar.gz"

cd "$here"
"$python" manage.py verify_audit_log
"$python" manage.py verify_evidence
echo "restored and verified"
