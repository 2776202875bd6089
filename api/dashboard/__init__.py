"""The partner dashboard: server-rendered pages at `/dashboard` (margins, invoice review, usage
drill-down, sync state) for dashboard users (`python main.py users create`).

Kept import-light (the models are imported by `migrations.metadata`); the routes are mounted
by `api.dashboard.app.mount_dashboard`.
"""

__all__: list[str] = []
