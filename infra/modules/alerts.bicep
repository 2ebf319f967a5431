// Log alerts on the structured records the app sends through OpenTelemetry: traces whose message is the
// event name (TransferCompleted, TimerRun) with the fields in customDimensions (docs/monitoring.md says what
// each alert means and what to do). Storage queue metrics cannot watch customer-sync-poison: Azure Storage
// reports QueueMessageCount once an hour for the whole account, without a queue-name dimension. Every poison
// message becomes a transfer with errorCode RetriesExhausted, so that record is the precise signal; the poison
// queues of the poison queues are counted by the sweeper that empties them (StrandedMessages).

@description('Application Insights component the Function App logs to.')
param applicationInsightsId string

@description('Azure region (that of the Application Insights component).')
param location string

@description('Tags for the alert rules.')
param tags object

@description('Suffix that keeps the rule names unique.')
param resourceToken string

@description('Email address that receives the alerts; empty creates the rules without a notification.')
param alertEmail string

@description('Failed transfers within 15 minutes above which the failure-spike alert fires.')
@minValue(1)
param failedTransfersThreshold int

@description('Log Analytics workspace behind Application Insights (its daily cap is watched).')
param logAnalyticsWorkspaceId string

@description('Key vault whose secrets near their expiry date are alerted on.')
param keyVaultId string

@description('Region of the key vault (its Event Grid system topic lives there).')
param keyVaultLocation string

@description('Public URL of GET /api/health, probed by the availability test.')
param healthUrl string

// The app does not sample (samplingRatio 1): every record is a row, so the rules count rows.
// Split by company (one alert per Business Central company): every record names its company.
var retriesExhaustedQuery = '''
traces
| where message == "TransferCompleted"
| extend t = customDimensions
| where tostring(t.errorCode) == "RetriesExhausted"
| extend companyName = tostring(t.companyName)
'''

var failedTransfersQuery = '''
traces
| where message == "TransferCompleted"
| extend t = customDimensions
| where tostring(t.status) == "Failed"
| extend companyName = tostring(t.companyName)
'''

// Every timer reports each run as TimerRun (outcome Succeeded or Failed): poll, subscription, retention, reconciliation.
var timerFailedQuery = '''
traces
| where message == "TimerRun"
| extend r = customDimensions
| where tostring(r.outcome) == "Failed"
| extend timer = tostring(r.timer)
'''

// The subscription timer runs hourly by default; two hours without a successful run means webhooks may stop.
var subscriptionSilentQuery = '''
traces
| where message == "TimerRun"
| extend r = customDimensions
| where tostring(r.timer) == "subscriptionTimer" and tostring(r.outcome) == "Succeeded"
'''

// A service put on hold (circuit breaker open): one ServiceOutage record when it opens and one every 5 minutes
// while it stays open (stillOnHold); the alert resolves itself once the service is back.
var serviceOnHoldQuery = '''
traces
| where message == "ServiceOutage"
| extend o = customDimensions
| where tostring(o.state) in ("onHold", "stillOnHold")
| extend service = tostring(o.service), reason = tostring(o.kind), companyName = tostring(o.companyName)
'''

// Messages found in a poison queue's own poison queue (*-poison-poison), where nothing triggers: the sweeper
// moves them back and reports each queue where it found any (StrandedMessages), every 15 minutes.
var strandedMessagesQuery = '''
traces
| where message == "StrandedMessages"
| extend p = customDimensions
| where toint(p.found) > 0
| extend queue = tostring(p.queue)
'''

@description('Missing + Drifted customers in a completed reconciliation above which the drift alert fires.')
@minValue(0)
param reconcileDriftThreshold int

// One ReconciliationRun line per finished reconciliation run (counts only); drift = Missing + Drifted.
var reconciliationDriftQuery = '''
traces
| where message startswith "ReconciliationRun "
| extend r = parse_json(substring(message, 18))
| where tostring(r.status) == "Completed"
| extend drift = toint(r.Missing) + toint(r.Drifted)
'''

var actionGroupName = 'ag-bcsync-${resourceToken}'

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'bcsync'
    enabled: true
    emailReceivers: [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroupId = resourceId('Microsoft.Insights/actionGroups', actionGroupName)
var actionGroupIds = empty(alertEmail) ? [] : [
  actionGroupId
]

resource retriesExhaustedAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-bcsync-retries-exhausted-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Customer sync: transfers exhausted their retries'
    description: 'At least one customer-sync message failed 5 deliveries and went to customer-sync-poison (TransferCompleted with errorCode RetriesExhausted). See docs/monitoring.md.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: retriesExhaustedQuery
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'companyName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroupIds
    }
  }
  dependsOn: [
    actionGroup
  ]
}

resource failedTransfersAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-bcsync-failed-spike-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Customer sync: failed transfers spike'
    description: 'More than ${failedTransfersThreshold} transfers of one company ended Failed within 15 minutes (TransferCompleted with status Failed); the alert names the company. See docs/monitoring.md.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: failedTransfersQuery
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'companyName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: failedTransfersThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroupIds
    }
  }
  dependsOn: [
    actionGroup
  ]
}

resource timerFailedAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-bcsync-timer-failed-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Customer sync: a timer failed'
    description: 'A run of pollCustomers, subscriptionTimer, the retention or the reconciliation timer failed (TimerRun with outcome Failed); the alert names the timer. See docs/monitoring.md.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: timerFailedQuery
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'timer'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroupIds
    }
  }
  dependsOn: [
    actionGroup
  ]
}

resource subscriptionSilentAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-bcsync-subscription-silent-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Customer sync: no successful subscription check in 2 hours'
    description: 'subscriptionTimer has not completed a run for 2 hours (no TimerRun with outcome Succeeded): the Business Central webhook subscription may expire and notifications stop. See docs/monitoring.md.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT2H'
    criteria: {
      allOf: [
        {
          query: subscriptionSilentQuery
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroupIds
    }
  }
  dependsOn: [
    actionGroup
  ]
}

resource serviceOnHoldAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-bcsync-service-on-hold-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Customer sync: Business Central or iPaaS.com on hold'
    description: 'A whole service failed (credentials refused, long throttling, or 5xx / timeouts that persist) and its transfers are on hold (ServiceOutage records with state onHold, then stillOnHold every 5 minutes). Nothing is lost: held transfers resume by themselves once the service answers. GET /api/health/details says which service, since when and what to do (e.g. renew IPAAS_API_TOKEN). See docs/reliability.md.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: serviceOnHoldQuery
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'service'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'reason'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'companyName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroupIds
    }
  }
  dependsOn: [
    actionGroup
  ]
}

resource reconciliationDriftAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-bcsync-reconcile-drift-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Customer sync: Business Central and iPaaS.com disagree'
    description: 'A completed reconciliation found more than ${reconcileDriftThreshold} customers Missing or Drifted in iPaaS.com (ReconciliationRun line). See docs/monitoring.md.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: reconciliationDriftQuery
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'drift'
          operator: 'GreaterThan'
          threshold: reconcileDriftThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: actionGroupIds
    }
  }
  dependsOn: [
    actionGroup
  ]
}

resource strandedMessagesAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-bcsync-stranded-messages-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Customer sync: messages left in a poison queue of a poison queue'
    description: 'A poison reader failed 5 times on a message, which went to customer-sync-poison-poison, customer-catchup-poison-poison or reconcile-poison-poison (StrandedMessages records: found, moved back, left). The sweeper moves them back every 15 minutes. See docs/monitoring.md.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: strandedMessagesQuery
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'queue'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroupIds
    }
  }
  dependsOn: [
    actionGroup
  ]
}

// ---------------------------------------------------------------------------------------------------
// The Log Analytics daily cap was reached: ingestion stops until the next day (UTC), so the alerts above go blind.
// ---------------------------------------------------------------------------------------------------

var dailyCapQuery = '''
_LogOperation
| where Category =~ "Ingestion"
| where Detail contains "OverQuota"
'''

resource dailyCapAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-bcsync-daily-cap-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Customer sync: Log Analytics daily cap reached'
    description: 'The workspace ingested LOG_DAILY_CAP_GB today and stopped collecting until the next day (UTC): no records, no other alert until then. See docs/monitoring.md.'
    severity: 1
    enabled: true
    scopes: [
      logAnalyticsWorkspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: dailyCapQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: actionGroupIds
    }
  }
  dependsOn: [
    actionGroup
  ]
}

// ---------------------------------------------------------------------------------------------------
// Availability: GET /api/health from five regions every 5 minutes; the alert fires when two of them fail.
// ---------------------------------------------------------------------------------------------------

var healthTestName = 'webtest-bcsync-health-${resourceToken}'

resource healthTest 'Microsoft.Insights/webtests@2022-06-15' = {
  name: healthTestName
  location: location
  // Application Insights lists only the tests linked to it this way.
  tags: union(tags, {
    'hidden-link:${applicationInsightsId}': 'Resource'
  })
  kind: 'standard'
  properties: {
    SyntheticMonitorId: healthTestName
    Name: 'Customer sync: GET /api/health'
    Description: 'The app answers 200 while storage answers; 503 names what is down (docs/monitoring.md).'
    Enabled: true
    Frequency: 300
    Timeout: 30
    Kind: 'standard'
    RetryEnabled: true
    Locations: [
      {
        Id: 'emea-nl-ams-azr'
      }
      {
        Id: 'emea-gb-db3-azr'
      }
      {
        Id: 'us-va-ash-azr'
      }
      {
        Id: 'us-ca-sjc-azr'
      }
      {
        Id: 'apac-sg-sin-azr'
      }
    ]
    Request: {
      RequestUrl: healthUrl
      HttpVerb: 'GET'
      ParseDependentRequests: false
    }
    ValidationRules: {
      ExpectedHttpStatusCode: 200
      SSLCheck: true
      SSLCertRemainingLifetimeCheck: 7
    }
  }
}

resource healthAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-bcsync-health-${resourceToken}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Customer sync: GET /api/health failed from at least 2 of 5 locations (availability test). See docs/monitoring.md.'
    severity: 1
    enabled: true
    scopes: [
      healthTest.id
      applicationInsightsId
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria'
      webTestId: healthTest.id
      componentId: applicationInsightsId
      failedLocationCount: 2
    }
    autoMitigate: true
    actions: [
      for id in actionGroupIds: {
        actionGroupId: id
      }
    ]
  }
  dependsOn: [
    actionGroup
  ]
}

// ---------------------------------------------------------------------------------------------------
// Key Vault secrets: SecretNearExpiry (30 days before `exp`) and SecretExpired become Azure Monitor alerts
// through an Event Grid subscription, sent to the action group (so only with ALERT_EMAIL).
// ---------------------------------------------------------------------------------------------------

resource vaultEvents 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (!empty(alertEmail)) {
  name: 'evgt-bcsync-kv-${resourceToken}'
  location: keyVaultLocation
  tags: tags
  properties: {
    source: keyVaultId
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

resource secretExpiryAlert 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (!empty(alertEmail)) {
  parent: vaultEvents
  name: 'secret-expiry'
  properties: {
    // An Azure Monitor alert destination takes CloudEvents 1.0 only.
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    filter: {
      includedEventTypes: [
        'Microsoft.KeyVault.SecretNearExpiry'
        'Microsoft.KeyVault.SecretExpired'
      ]
    }
    destination: {
      endpointType: 'MonitorAlert'
      properties: {
        severity: 'Sev2'
        description: 'Customer sync: a Key Vault secret (IPAAS-API-TOKEN, BC-CLIENT-SECRET or WEBHOOK-CLIENT-STATE) expires within 30 days or has expired. Rotate it: docs/deploy.md, Rotating secrets.'
        actionGroups: actionGroupIds
      }
    }
  }
}

output retriesExhaustedAlertId string = retriesExhaustedAlert.id
output failedTransfersAlertId string = failedTransfersAlert.id
output timerFailedAlertId string = timerFailedAlert.id
output subscriptionSilentAlertId string = subscriptionSilentAlert.id
output serviceOnHoldAlertId string = serviceOnHoldAlert.id
output reconciliationDriftAlertId string = reconciliationDriftAlert.id
output strandedMessagesAlertId string = strandedMessagesAlert.id
output dailyCapAlertId string = dailyCapAlert.id
output healthTestId string = healthTest.id
output healthAlertId string = healthAlert.id
