from urp.console.server import main

main()
