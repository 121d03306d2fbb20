"""Copy front-end assets from node_modules (installed from package-lock.json) into
static/vendor/. Never committed, never from a CDN. htmx itself comes from django-htmx."""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = {
    "node_modules/@picocss/pico/css/pico.min.css": "static/vendor/pico/pico.min.css",
    "node_modules/chart.js/dist/chart.umd.min.js": "static/vendor/chartjs/chart.umd.min.js",
    "node_modules/chart.js/LICENSE.md": "static/vendor/chartjs/LICENSE.md",
    "node_modules/@picocss/pico/LICENSE.md": "static/vendor/pico/LICENSE.md",
}


def main() -> int:
    for source, target in ASSETS.items():
        src = ROOT / source
        if not src.exists():
            print(f"missing {source}: run `npm ci` first", file=sys.stderr)
            return 1
        dst = ROOT / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    print(f"copied {len(ASSETS)} front-end assets into static/vendor/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
