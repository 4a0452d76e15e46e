#!/usr/bin/env bash
# The tools the ops checks in `make test` run (tests/unit/test_monitoring.py and
# tests/unit/test_k8s_manifests.py), installed the same way on a developer's machine and on CI's
# (Debian, root; registries only, no downloads of release binaries):
#   - promtool, from Debian's `prometheus` package: checks the alerting rules and the scrape
#     config, and runs the rules' unit tests;
#   - kubectl (its built-in Kustomize renders infra/k8s), from Debian's `kubernetes-client`
#     when no kubectl is on the machine already.
# Idempotent: each step is skipped when its tool is already there.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v kubectl >/dev/null || missing+=(kubernetes-client)

# Only promtool is used. Where an init system runs, the prometheus package also starts a
# Prometheus server on :9090; stop it with `systemctl disable --now prometheus` if unwanted.
if [ ${#missing[@]} -gt 0 ]; then
  apt_install install-ops-tools "${missing[@]}"
fi
promtool --version 2>&1 | head -n1
kubectl version --client 2>/dev/null | head -n2
