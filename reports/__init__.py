"""The HTML recommendation report: jinja2 templates and the renderer over costmodel results."""
