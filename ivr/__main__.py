from ivr.cli import main

# Guarded: the TTS worker is a spawned process, which imports the main module again.
if __name__ == "__main__":
    raise SystemExit(main())
