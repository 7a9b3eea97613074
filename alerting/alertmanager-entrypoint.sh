#!/bin/sh
# Entrypoint of the Alertmanager container (docker-compose.yml):
#   alertmanager-entrypoint.sh CONFIG RENDERED [alertmanager and its arguments]
#
# Alertmanager reads the WeCom application secret only from its config file (wechat_configs gained
# api_secret_file in 0.31), and the repository's config must hold no secret. So alertmanager.deploy.yml
# carries the placeholder __WECOM_API_SECRET__, and this script writes a copy of CONFIG to RENDERED (a tmpfs:
# never in the image, a volume or the repository) with the secret from $WECOM_API_SECRET_FILE (default
# /run/secrets/alertmanager/wecom_api_secret) in its place, then runs the rest of its arguments.
#
# Without that file Alertmanager still starts: the webhooks and email work, and each WeCom send fails with
# "invalid APISecret" in Alertmanager's log (and alertmanager_notifications_failed_total{integration="wechat"}).
set -eu

config=$1
rendered=$2
shift 2
secret_file=${WECOM_API_SECRET_FILE:-/run/secrets/alertmanager/wecom_api_secret}

umask 077
if [ -r "$secret_file" ]; then
    secret=$(tr -d ' \t\r\n' < "$secret_file")
    case $secret in
        "" | *[!A-Za-z0-9_-]*)
            echo "alertmanager-entrypoint: $secret_file must hold the WeCom application secret" \
                "(letters, digits, - and _ only); WeCom messages are not configured" >&2
            secret=__WECOM_API_SECRET__ ;;
    esac
else
    echo "alertmanager-entrypoint: no $secret_file; WeCom application messages will fail" >&2
    secret=__WECOM_API_SECRET__
fi
sed "s/__WECOM_API_SECRET__/$secret/g" "$config" > "$rendered"

if [ $# -gt 0 ]; then
    exec "$@"
fi
