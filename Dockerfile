# quizapp production image: `quizapp serve` (gunicorn, threaded workers) as a non-root user.
#
#   docker build -t quizapp .
#   docker run -p 8000:8000 -e QUIZAPP_SECRET_KEY=... -e QUIZAPP_DATABASE_URL=postgresql+psycopg://... quizapp
#
# Configuration is QUIZAPP_* environment variables (docs/deployment.md). The schema is migrated
# on start (`quizapp serve --migrate`, under a database lock, so replicas may start together).
# Other commands run through the same entry point: `docker run ... quizapp bank check`.
FROM python:3.11-slim

# A Chinese TrueType font, so poster PDFs embed their glyphs instead of relying on the reader's fonts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# The package (no test extras) with the PostgreSQL driver; only what the install needs is copied.
COPY pyproject.toml /app/src/
COPY quizapp /app/src/quizapp
RUN pip install "/app/src[postgres]" && rm -rf /app/src

COPY question_bank /app/question_bank

# The app user. Flask's instance folder of an installed package is <sys.prefix>/var/quizapp-instance
# (/usr/local/var/quizapp-instance: the default SQLite database and a generated secret_key live
# there); it is created owned by that user, since nothing else in the image is writable to it.
RUN groupadd --system --gid 10001 quizapp \
 && useradd --system --uid 10001 --gid quizapp --home-dir /home/quizapp --create-home --shell /usr/sbin/nologin quizapp \
 && install -d -o quizapp -g quizapp -m 0700 \
      "$(python -c 'import flask; print(flask.Flask("quizapp", instance_relative_config=True).instance_path)')"

# Defaults; override at run time. QUIZAPP_SECRET_KEY must be set (and be the same on every app
# server): without it each container generates its own key and cookies break across servers.
#   QUIZAPP_DATABASE_URL   postgresql+psycopg://user:password@host:5432/db  (default: SQLite in the instance folder)
#   QUIZAPP_REDIS_URL      redis://host:6379/0  (shared rate limits and leaderboard cache; default: in-process)
#   QUIZAPP_PUBLIC_URL     https://quiz.example.org  (QR codes; https also makes cookies Secure)
#   QUIZAPP_PROXY_COUNT    1 behind one reverse proxy / load balancer (trust its X-Forwarded-*)
#   QUIZAPP_WORKERS        worker processes (default 2 per CPU, at most 8); QUIZAPP_THREADS (default 3)
#   QUIZAPP_ACCESS_LOG=1   log every request to stdout
ENV QUIZAPP_BANK_PATH=/app/question_bank

USER quizapp:quizapp
EXPOSE 8000

# python, not curl: the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

# gunicorn's master is PID 1: SIGTERM finishes in-flight requests within --graceful-timeout
# (10 s by default), then exits; give `docker stop` more than that (-t 20; compose: stop_grace_period).
ENTRYPOINT ["quizapp"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
