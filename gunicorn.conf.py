"""gunicorn for production: `gunicorn -c gunicorn.conf.py mlsec_portal.wsgi` (docs/deployment.md)."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Pages spend most of their time in Python, so processes, one request at a time each (`sync`), serve
# more than threads: two threads of a process share its interpreter lock, and each database answer
# waited for the other thread's turn (measured in docs/performance.md, "Serving": 2 x 2 threads 54
# requests/s, 4 x 1 80 on the same 2 cores). A sync worker takes a connection only when it is free, so
# no request waits behind a busy process while another is idle. It expects the buffering reverse proxy
# docs/deployment.md puts in front (nginx reads slow clients' requests before passing them on); without
# one, GUNICORN_WORKER_CLASS=gthread holds idle keep-alive connections without a worker each.
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))  # gthread only
# Load Django and every view once in the master (mlsec_portal/wsgi.py) and fork the workers from it: a
# recycled worker starts without re-importing anything, and the processes share the loaded code's memory.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))  # finish in-flight requests on SIGTERM
keepalive = 5
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
