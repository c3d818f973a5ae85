"""What people read: the monitoring page, its charts and the Jinja2 templates."""
