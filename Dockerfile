# The rko-scoring Airflow image: the official Airflow image, the project's pinned requirements,
# and the project itself (DAGs, plugins, the rko_model library with its SQL and config).
# docker-compose.yml builds it once for every Airflow service.
FROM apache/airflow:3.3.2-python3.11

# The project lives beside Airflow's home; the data folder is a named volume in the stack, created here
# so that a fresh volume starts owned by the airflow user and writable by group 0 (any AIRFLOW_UID).
USER root
RUN mkdir -p /opt/rko /opt/rko-data \
    && chown -R airflow:0 /opt/rko /opt/rko-data \
    && chmod -R g+rwX /opt/rko /opt/rko-data
USER airflow

# Requirements first, so that a change in the project's code does not reinstall them. requirements.txt pins
# apache-airflow to the image's version; naming it again keeps pip from ever moving Airflow itself.
COPY --chown=airflow:0 requirements.txt /opt/rko/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/rko/requirements.txt

COPY --chown=airflow:0 pyproject.toml README.md /opt/rko/
COPY --chown=airflow:0 rko_model /opt/rko/rko_model
COPY --chown=airflow:0 sql /opt/rko/sql
COPY --chown=airflow:0 config /opt/rko/config
COPY --chown=airflow:0 dags /opt/rko/dags
COPY --chown=airflow:0 plugins /opt/rko/plugins
COPY --chown=airflow:0 scripts /opt/rko/scripts
# Editable, as in a checkout: the package's root is /opt/rko, where sql/ and config/ are; the `rko` command.
RUN pip install --no-cache-dir --no-deps -e /opt/rko

ENV RKO_DATA_DIR=/opt/rko-data \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/rko/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/rko/plugins \
    GX_ANALYTICS_ENABLED=false
