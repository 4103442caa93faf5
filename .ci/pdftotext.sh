#!/usr/bin/env bash
# Poppler's pdftotext: the PDF tests read rendered quotes back as text to check their totals.
set -euo pipefail
if ! command -v pdftotext >/dev/null 2>&1; then
  echo "installing Debian's poppler-utils (pdftotext)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq poppler-utils >/dev/null
fi
