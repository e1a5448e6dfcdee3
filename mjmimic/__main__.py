from mjmimic.cli.main import main

raise SystemExit(main())
