// answer lookup_rdns so that Haraka sends no PTR query per connection
exports.hook_lookup_rdns = (next) => next(OK, 'client.example')
