#!/usr/bin/env bash
# The tools tests/e2e/test_site.py checks the published site with, installed the same way on a
# developer's machine and on CI's (Debian, root, Java 17, Node 20 + npm; no browser downloads):
#   - Chromium from Debian's package (Playwright for Python drives /usr/bin/chromium; it never
#     downloads a browser of its own),
#   - the Nu HTML Checker (npm vnu-jar, run with the system Java) and axe-core, pinned by
#     tests/site/package-lock.json.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/apt-install.sh

SITE_TOOLS=tests/site

# 1. Chromium, only if it is missing.
if [ ! -x /usr/bin/chromium ]; then
  apt_install install-site-tools chromium fonts-liberation
fi
/usr/bin/chromium --version 2>/dev/null

# 2. Java for vnu.jar (the Nu HTML Checker needs Java 11 or later).
if ! command -v java >/dev/null; then
  echo "install-site-tools: java is missing (the Nu HTML Checker needs Java 11+)" >&2
  exit 1
fi
java_version=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
if [ -z "$java_version" ] || [ "$java_version" -lt 11 ]; then
  echo "install-site-tools: java ${java_version:-?} found; the Nu HTML Checker needs Java 11+" >&2
  exit 1
fi
echo "java $java_version"

# 3. vnu-jar and axe-core, exactly as locked. --ignore-scripts: vnu-jar's postinstall would
# only look for Java (and download one if it found none); we run the jar with the system Java.
# Reinstalled only when the lock file changed since the last install.
if ! command -v npm >/dev/null; then
  echo "install-site-tools: npm is missing (Node.js 18+ and npm install vnu-jar and axe-core)" >&2
  exit 1
fi
stamp="$SITE_TOOLS/node_modules/.installed"
if [ ! -f "$stamp" ] || [ "$SITE_TOOLS/package-lock.json" -nt "$stamp" ] \
  || [ ! -f "$SITE_TOOLS/node_modules/vnu-jar/build/dist/vnu.jar" ] \
  || [ ! -f "$SITE_TOOLS/node_modules/axe-core/axe.min.js" ]; then
  npm ci --prefix "$SITE_TOOLS" --ignore-scripts --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
echo "vnu.jar $(java -jar "$SITE_TOOLS/node_modules/vnu-jar/build/dist/vnu.jar" --version)"
echo "axe-core $(node -p "require('./$SITE_TOOLS/node_modules/axe-core/package.json').version")"
