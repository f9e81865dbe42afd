#!/usr/bin/env bash
# Make sure the Debian packages the service and its tests use are installed.
# As root: installs what is missing with apt-get. Otherwise: names what is missing and fails.
# `--run`: only what the running service needs (make run): its certificates' fonts.
set -euo pipefail

run_packages=(fonts-wqy-zenhei fonts-hanazono)

packages=(
  openssl            # openssl ts -verify / -reply: interoperability tests of RFC 3161 tokens
  postgresql         # the tests start a throwaway cluster (initdb) to run the suite on PostgreSQL
  poppler-utils      # pdfsig, pdftotext, pdftoppm: checks of the certificate PDF
  libnss3-tools      # certutil: the NSS database pdfsig trusts
  fonts-wqy-zenhei   # a TrueType CJK font reportlab can embed
  zbar-tools         # zbarimg: decodes the certificate's QR code in the tests
  golang-go          # builds tests/interop/tlogcheck.go: Go's own note and tlog packages check our log
  golang-golang-x-mod-dev  # golang.org/x/mod/sumdb (note, tlog), the Go checksum database's code
  faketime           # libfaketime: `notary verify` run decades ahead, to show evidence outlives its certificates
  chromium           # the pages are tested in real headless Chromium (Playwright drives it; never a downloaded browser)
  fonts-hanazono     # a fallback CJK font for rare characters in names
  redis-server       # the shared rate-limit store, the production option (tests start their own)
  nginx              # `nginx -t` checks docs/operations' reverse-proxy site (1.3 MB; never started)
)

[ "${1:-}" = "--run" ] && packages=("${run_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
