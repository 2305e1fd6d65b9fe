# Orbit's production image: web (gunicorn), worker and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 orbit

# Production's packages only (no embedded data stores, test tools or load generator), each checked
# against the hashes in the lock file.
COPY requirements/base.txt requirements/base.txt
RUN pip install --require-hashes -r requirements/base.txt

COPY . .
# Static files and translations are built into the image; the secret is only needed to import settings.
RUN DEBUG=0 SECRET_KEY=build-only-not-a-secret python manage.py collectstatic --noinput \
 && DEBUG=0 SECRET_KEY=build-only-not-a-secret python manage.py compile_translations

# The code stays root's, so the app cannot rewrite itself; it writes only under var/ (uploads, when
# MEDIA_STORAGE=filesystem: docker-compose mounts the media-data volume there, which takes this owner).
RUN mkdir -p /app/var/media && chown -R orbit:orbit /app/var

USER orbit
# 8001: the health listener (gunicorn -c gunicorn_health.conf.py), run beside web.
EXPOSE 8000 8001
# Every gunicorn setting (workers, threads, limits, access log): gunicorn.conf.py (WEB_WORKERS, WEB_THREADS).
CMD ["gunicorn", "orbit.wsgi"]
