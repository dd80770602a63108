"""FitLab's page parts: the only package, with streamlit_app.py, that imports streamlit."""
