"""A local AWS for tests, the demo and the benchmarks: moto's server mode on loopback, plus MediaPackage
harvest jobs (which moto lacks), fault injection, and CloudFormation's side of the custom resource
protocol (an HTTPS ResponseURL). Neither the library nor the handler imports this package."""
