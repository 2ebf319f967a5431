// A monthly cost budget on the resource group, with notifications at 80 % and 100 % of actual cost and at 100 %
// of the forecast. Nothing is sampled (every transfer, dependency and timer run is a Log Analytics row), so the
// budget, with the workspace's daily cap, is what makes an unexpected bill visible early.

@description('Monthly amount, in the billing currency of the subscription.')
@minValue(1)
param amount int

@description('First day of the month the budget starts (yyyy-MM-01). Azure refuses to change it later, so the preprovision hook sets it once per environment (COST_BUDGET_START_DATE).')
param startDate string

@description('Who is notified; empty: the owners of the resource group.')
param alertEmail string

@description('Suffix that keeps the name unique.')
param resourceToken string

var contactEmails = empty(alertEmail) ? [] : [
  alertEmail
]
var contactRoles = empty(alertEmail) ? [
  'Owner'
] : []

resource budget 'Microsoft.Consumption/budgets@2023-11-01' = {
  name: 'budget-bcsync-${resourceToken}'
  properties: {
    category: 'Cost'
    amount: amount
    timeGrain: 'Monthly'
    timePeriod: {
      startDate: startDate
    }
    notifications: {
      actual80: {
        enabled: true
        operator: 'GreaterThanOrEqualTo'
        threshold: 80
        thresholdType: 'Actual'
        contactEmails: contactEmails
        contactRoles: contactRoles
      }
      actual100: {
        enabled: true
        operator: 'GreaterThanOrEqualTo'
        threshold: 100
        thresholdType: 'Actual'
        contactEmails: contactEmails
        contactRoles: contactRoles
      }
      forecast100: {
        enabled: true
        operator: 'GreaterThanOrEqualTo'
        threshold: 100
        thresholdType: 'Forecasted'
        contactEmails: contactEmails
        contactRoles: contactRoles
      }
    }
  }
}

output id string = budget.id
