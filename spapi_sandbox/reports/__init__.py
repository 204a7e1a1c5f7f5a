"""Reports API 2021-06-30: report lifecycle, document rendering and the HTTP routes that serve them."""
