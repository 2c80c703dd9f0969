"""The skypilot backend (compute.backend: skypilot): W&B sweeps whose agents run on Vast.ai machines
launched through SkyPilot. Every cloud call goes through the CloudAdapter seam (adapter.py; the real
one in real.py and real_sky.py), the record (record.py) is written before every side effect, and
spend is reconciled from several listings (spend.py). It imports the executor's shared modules and
the contract; never the local backend.
"""
