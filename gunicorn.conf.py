"""gunicorn for production: `gunicorn -c gunicorn.conf.py mlsec_portal.wsgi` (docs/deployment.md)."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Pages spend most of their time in Python, so processes serve more than threads: two threads of one
# process share its interpreter lock, and each database answer waited for the other thread's turn
# (docs/performance.md, "Serving": 2 workers x 2 threads 54 requests/s, 4 x 1 thread 80 on the same 2
# cores). One thread per process by default. gthread rather than sync: a sync worker is killed when one
# response outlasts `timeout` (an export streamed to a slow client), a gthread worker only when silent.
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A worker takes a connection only while one of its threads is free and closes it after the response
# (the proxy in front keeps its clients' connections open): a busy process never holds a request that
# an idle one could serve (what sync workers do), and its main loop keeps it alive through a long one.
# Measured at 64 requests/s: dashboard p95 480 ms this way, 630 with keep-alive connections held per process.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", str(threads)))
# Load Django and every view once in the master (mlsec_portal/wsgi.py) and fork the workers from it: a
# recycled worker starts without re-importing anything, and the processes share the loaded code's memory.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))  # finish in-flight requests on SIGTERM
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "0" if worker_connections <= threads else "5"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))  # recycle workers: bounded memory
max_requests_jitter = 200
# The reverse proxy's address may set X-Forwarded-Proto; nobody else.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
access_log_format = (
    '{"time": "%(t)s", "level": "INFO", "logger": "gunicorn.access", "remote": "%(h)s", "method": "%(m)s", '
    '"path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "duration_us": %(D)s, '
    '"request_id": "%({x-request-id}o)s", "user_agent": "%(a)s"}'
)
