# MLSec Portal: one image for the web, worker and beat services (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=mlsec_portal.settings.production \
    MLSEC_VAR_DIR=/data/var \
    MLSEC_MEDIA_ROOT=/data/media \
    MLSEC_STATIC_ROOT=/app/staticfiles

# DejaVu fonts for the PDF reports (non-Latin names); curl-free image, tini reaps zombies and
# forwards SIGTERM so gunicorn and Celery shut down gracefully.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 mlsec \
    && useradd --system --uid 10001 --gid mlsec --home-dir /app --shell /usr/sbin/nologin mlsec

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DJANGO_SETTINGS_MODULE=mlsec_portal.settings.build python manage.py collectstatic --noinput \
    && mkdir -p /data/var /data/media \
    && chown -R mlsec:mlsec /data \
    && chmod 0755 docker/entrypoint.sh

USER mlsec
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]
CMD ["web"]
