# The rko-scoring Airflow image: the official Airflow image, the project's locked requirements in a venv,
# and the project itself (DAGs, plugins, the rko_model library with its SQL and config).
# docker-compose.yml builds it once for every Airflow service.
FROM apache/airflow:3.3.2-python3.11

# The project lives beside Airflow's home; the data folder is a named volume in the stack, created here
# so that a fresh volume starts owned by the airflow user and writable by group 0 (any AIRFLOW_UID).
USER root
RUN mkdir -p /opt/rko /opt/rko-data /opt/rko-venv \
    && chown -R airflow:0 /opt/rko /opt/rko-data /opt/rko-venv \
    && chmod -R g+rwX /opt/rko /opt/rko-data /opt/rko-venv
USER airflow

# The project's locked environment (requirements.txt: every package with its hashes) goes into a venv of
# its own, so it neither fights nor silently reuses the base image's packages; the venv comes first on
# PATH, so `airflow`, `celery` and `rko` in every service are the locked ones. Requirements first, so that
# a change in the project's code does not reinstall them. The lock pins apache-airflow to the base image's
# version (tests/test_stack.py checks the FROM line); the build fails here if they ever disagree.
COPY --chown=airflow:0 requirements.txt /opt/rko/requirements.txt
RUN python3.11 -m venv /opt/rko-venv \
    && PIP_USER=false /opt/rko-venv/bin/python -m pip install --no-cache-dir --no-deps --require-hashes -r /opt/rko/requirements.txt \
    && /opt/rko-venv/bin/python -m pip check \
    && /opt/rko-venv/bin/python -c "import importlib.metadata as m, sys; v = m.version('apache-airflow'); \
        sys.exit(None if v == sys.argv[1] else f'the lock has apache-airflow {v}, the image {sys.argv[1]}')" \
        "${AIRFLOW_VERSION}"
ENV VIRTUAL_ENV=/opt/rko-venv \
    PATH=/opt/rko-venv/bin:$PATH \
    PIP_USER=false

COPY --chown=airflow:0 pyproject.toml README.md /opt/rko/
COPY --chown=airflow:0 rko_model /opt/rko/rko_model
COPY --chown=airflow:0 sql /opt/rko/sql
COPY --chown=airflow:0 config /opt/rko/config
COPY --chown=airflow:0 dags /opt/rko/dags
COPY --chown=airflow:0 plugins /opt/rko/plugins
COPY --chown=airflow:0 scripts /opt/rko/scripts
# Editable, as in a checkout: the package's root is /opt/rko, where sql/ and config/ are; the `rko` command.
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e /opt/rko

ENV RKO_DATA_DIR=/opt/rko-data \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/rko/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/rko/plugins \
    GX_ANALYTICS_ENABLED=false
