"""Push the dashboards to a Grafana with grafana-client (the maintained successor of grafana-api).

GRAFANA_URL=https://grafana.example.org GRAFANA_TOKEN=... .venv/bin/python -m dashboards.push
"""

from __future__ import annotations

import json
import os
import sys

from grafana_client.api import GrafanaApi

from dashboards.build import DASHBOARDS, render

FOLDER_TITLE = "Vigil 急救与疫情监测"


def main() -> int:
    url, token = os.environ.get("GRAFANA_URL"), os.environ.get("GRAFANA_TOKEN")
    if not url or not token:
        print(
            "set GRAFANA_URL (e.g. http://127.0.0.1:3000) and GRAFANA_TOKEN (a service-account token with "
            "dashboard write access)",
            file=sys.stderr,
        )
        return 2
    api = GrafanaApi.from_url(url=url, credential=token)
    folders = {f["title"]: f["uid"] for f in api.folder.get_all_folders()}
    folder_uid = folders.get(FOLDER_TITLE) or api.folder.create_folder(FOLDER_TITLE)["uid"]
    for uid in DASHBOARDS:
        result = api.dashboard.update_dashboard(
            {
                "dashboard": json.loads(render(uid)),
                "folderUid": folder_uid,
                "overwrite": True,
                "message": "pushed by dashboards.push",
            }
        )
        print(f"{uid}: {result.get('status')} {url.rstrip('/')}{result.get('url', '')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
