#!/usr/bin/env bash
# Prints every `crate::` import of the herald crate that goes up the layering
# (shared < service < runtime < http < app < cli) and every store write made from http/;
# exits non-zero when there is one. tests/it/layers.rs makes the same check in the suite.
set -euo pipefail
cd "$(dirname "$0")/../crates/herald/src"
status=0
rank() {
  case "$1" in
    render|config) echo 0 ;; service) echo 1 ;;
    runtime|monitoring|notify|cluster|mirror|alerting|probe|mail|netguard) echo 2 ;;
    http|auth) echo 3 ;; app) echo 4 ;; remote|cli|main|lib) echo 5 ;; *) echo - ;;
  esac
}
while IFS= read -r file; do
  top=${file%%/*}; top=${top%.rs}
  from=$(rank "$top")
  for used in $(sed 's#//.*##' "$file" | grep -o 'crate::[a-z_]*' | sort -u | cut -d: -f3); do
    to=$(rank "$used")
    if [ "$to" != - ] && [ "$from" != - ] && [ "$to" -gt "$from" ]; then
      echo "up: $file uses crate::$used"; status=1
    fi
  done
done < <(find . -name '*.rs' | sed 's#^\./##' | sort)
writes='import|apply|append_audit|create_user|create_session|delete_session|create_api_key|revoke_api_key|create_subscriber|set_subscriber_state|set_subscriber_components|create_template|delete_template|save_page_settings|enqueue_notice|retry_delivery|import_subscribers|save_monitor|delete_monitor|record_results|save_automation|save_automation_state|create_integration|update_integration|delete_integration|save_alert_channel|delete_alert_channel|save_metric|delete_metric|add_metric_points|expand_notification|claim_deliveries|finish_deliveries|prune_results|backup|restore'
for file in $(find http -name '*.rs' | sort); do
  if sed 's#//.*##' "$file" | tr -d ' \n\t' | grep -qE "store\.($writes)\("; then
    echo "write: $file calls the store: $(sed 's#//.*##' "$file" | tr -d ' \n\t' | grep -oE "store\.($writes)\(" | sort -u | tr '\n' ' ')"
    status=1
  fi
done
[ "$status" = 0 ] && echo "layers: no upward import, no store write from http/"
exit "$status"
