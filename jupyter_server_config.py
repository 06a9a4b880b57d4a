"""Jupyter server settings for grading by hand in formgrader (README: "grade by hand").

Start the server from the course root with this file, as an unprivileged user that owns
the course checkout (never as root):

    .venv/bin/jupyter lab --config=jupyter_server_config.py

A submission is untrusted HTML: nbgrader_config.py makes formgrader render it through
lrcourse.sanitize, and the Content-Security-Policy below limits what any script that
still ran in a page of this server could reach: nothing outside this server (no request,
image, font or form to another host), no plugins, no framing by other sites, no <base>
rewriting. Formgrader's own pages use inline <script> blocks and onclick handlers, so the
policy must allow inline script ('unsafe-inline'): it cannot stop a script that reaches a
page; keeping student script out of the page is the sanitizer's job. JupyterLab's bundles
need 'unsafe-eval'. MathJax for formgrader comes from cdnjs (nbconvert's default URL).
"""

c = get_config()  # noqa: F821  (injected by traitlets when Jupyter loads this file)

MATHJAX_CDN = "https://cdnjs.cloudflare.com"

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    f"script-src 'self' 'unsafe-inline' 'unsafe-eval' {MATHJAX_CDN}",
    f"style-src 'self' 'unsafe-inline' {MATHJAX_CDN}",
    f"font-src 'self' data: {MATHJAX_CDN}",
    "img-src 'self' data: blob:",
    "connect-src 'self'",  # the server's API and kernel websockets (CSP3 'self' covers ws/wss)
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])

# jupyter_server sends settings["headers"] with every response, and uses its
# Content-Security-Policy instead of its own default (JupyterHandler.content_security_policy).
c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": CONTENT_SECURITY_POLICY}}
# Listen on this machine only; reach it from elsewhere through an SSH tunnel.
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = False
