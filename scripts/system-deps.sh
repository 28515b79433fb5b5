#!/usr/bin/env bash
# Installs the Debian packages Hotline needs (as root); a no-op when they are present.
set -euo pipefail
need=()
# prometheus: its promtool checks deploy/kubernetes/monitoring/alerts.yml in make test.
# fonts-wqy-microhei: Chinese glyphs for the console in headless Chromium (tests, docs/screenshots).
# redis-server: the scale-out tests' shared ephemeral state (make test starts it; make run needs none).
for pkg in espeak-ng libespeak-ng1 postgresql tzdata chromium prometheus fonts-wqy-microhei \
    redis-server; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  need+=(python3-venv)
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Hotline needs these Debian packages: ${need[*]}; run 'make' as root or install them with apt-get." >&2
  exit 2
fi
echo "Installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
if [[ " ${need[*]} " == *" prometheus "* ]]; then
  # Only promtool is needed: keep the Prometheus server the package brings from listening on 9090.
  (systemctl disable --now prometheus || service prometheus stop) >/dev/null 2>&1 || true
fi
