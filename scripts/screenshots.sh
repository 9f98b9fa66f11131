#!/usr/bin/env bash
# Regenerates the console's screenshots (1440x900 PNGs in docs/screenshots/): runs the browser
# tests of the console and the dashboard/admin pages in headless Chromium, which saves each page it visits when
# SWITCHBOARD_SCREENSHOTS names a folder. Look at the pictures after a UI change.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh
mkdir -p docs/screenshots
# --workspace (not -p switchboard) builds with the same features as scripts/test, so nothing is
# rebuilt; the filters run only the console's (and its ticket tools'), the dashboard's and the chat widget's tests of the binaries named `it`.
SWITCHBOARD_SCREENSHOTS=docs/screenshots cargo test --workspace --test it -- console:: console_ticket:: dashboard:: widget:: --nocapture
ls -l docs/screenshots
