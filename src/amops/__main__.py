from amops.cli.app import main

main()
