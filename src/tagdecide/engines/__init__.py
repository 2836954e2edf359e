"""Engines that apply a fitted model to whole scores files.

- :mod:`tagdecide.engines.local`: one CSV or Parquet file, streamed batch by batch in this
  process (:func:`~tagdecide.engines.local.predict_file`);
- :mod:`tagdecide.engines.dask`: a folder of Parquet files on a Dask cluster
  (:func:`~tagdecide.engines.dask.predict_parquet_folder`; needs the ``dask`` extra).

Both read through :mod:`tagdecide.io`'s batch checks, so a bad id or score is reported in
the same words by either. Nothing is imported here: each engine is loaded when used.
"""
