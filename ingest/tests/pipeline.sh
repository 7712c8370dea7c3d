#!/bin/sh
# What a CI job runs: scan the working tree, push the results, gate the commit. Only the `mlsec`
# command and an ingest token (MLSEC_URL, MLSEC_TOKEN, MLSEC_PROJECT in the environment).
set -eu
cd "$1"
commit=$(git rev-parse HEAD)
mlsec scan . --output "$2/mlsec-scan.sarif"
mlsec push "$2/mlsec-scan.sarif" --format sarif --commit "$commit" --branch main --build-id "ci-$commit"
mlsec gate --commit "$commit"
