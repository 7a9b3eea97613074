"""Push the dashboards to a running Grafana with grafana-client (the maintained successor of grafana-api).

GRAFANA_URL=https://grafana.example.org GRAFANA_TOKEN=<token> .venv/bin/python -m dashboards.push

The token needs dashboard and folder write access (a service account with the Editor role). The dashboards
go into one folder (uid ``vigil``, the same as the docker compose provisioning) and overwrite earlier pushes
of the same uid. Their Prometheus is chosen with the ``datasource`` variable, so no datasource uid is needed.
``--dry-run`` only lists what would be pushed.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException
from niquests.exceptions import RequestException

from dashboards.build import DASHBOARDS, model

FOLDER_UID = "vigil"
FOLDER_TITLE = "Vigil 急救与疫情监测"


def payload(uid: str, folder_uid: str) -> dict[str, Any]:
    """The body of Grafana's POST /api/dashboards/db for one dashboard."""
    return {
        "dashboard": model(uid),
        "folderUid": folder_uid,
        "overwrite": True,
        "message": "pushed by dashboards.push (dashboards as code)",
    }


def ensure_folder(api: GrafanaApi, uid: str, title: str) -> str:
    folders: Any = api.folder  # grafana-client's element methods are untyped
    try:
        folder: dict[str, Any] = folders.get_folder(uid)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        folder = folders.create_folder(title, uid=uid)
    return str(folder["uid"])


def push(api: GrafanaApi, folder_uid: str, folder_title: str) -> list[str]:
    """Push every dashboard; returns their URLs (paths) on the Grafana server."""
    folder = ensure_folder(api, folder_uid, folder_title)
    dashboards: Any = api.dashboard
    return [str(dashboards.update_dashboard(payload(uid, folder)).get("url", "")) for uid in DASHBOARDS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.push", description="Push Vigil's dashboards.")
    parser.add_argument("--url", default=os.environ.get("GRAFANA_URL"), help="default: $GRAFANA_URL")
    parser.add_argument("--folder-uid", default=FOLDER_UID)
    parser.add_argument("--folder-title", default=FOLDER_TITLE)
    parser.add_argument("--dry-run", action="store_true", help="list the dashboards, push nothing")
    args = parser.parse_args(argv)
    if args.dry_run:
        for uid in DASHBOARDS:
            print(f"{uid}: {model(uid)['title']} -> folder {args.folder_uid}")
        return 0
    token = os.environ.get("GRAFANA_TOKEN")
    if not args.url or not token:
        print(
            "dashboards.push: set GRAFANA_URL (e.g. http://127.0.0.1:3000) and GRAFANA_TOKEN (a "
            "service-account token with the Editor role); the token is read from the environment only",
            file=sys.stderr,
        )
        return 2
    api = GrafanaApi.from_url(url=args.url, credential=token)
    try:
        urls = push(api, args.folder_uid, args.folder_title)
    except GrafanaException as exc:
        print(f"dashboards.push: Grafana at {args.url} refused: {exc}", file=sys.stderr)
        return 1
    except RequestException as exc:
        print(f"dashboards.push: cannot reach Grafana at {args.url}: {exc}", file=sys.stderr)
        return 1
    for url in urls:
        print(f"{args.url.rstrip('/')}{url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
