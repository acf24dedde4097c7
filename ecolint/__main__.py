from ecolint.cli import main

main()
