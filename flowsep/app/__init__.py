"""The local web app of ``flowsep app`` (an optional extra: ``pip install -e ".[app]"``).

:mod:`flowsep.app.separation` does the work of one request without a server or Gradio;
:mod:`flowsep.app.page` builds the Gradio page around it and serves it.
"""
